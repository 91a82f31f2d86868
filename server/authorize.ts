// The API key check: x-api-key or Authorization: Bearer, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  return undefined;
}

/** A check that lets every request through when no key is set. */
export function createAuthorizer(apiKey: string | undefined): (req: IncomingMessage) => boolean {
  if (!apiKey) return () => true;
  const keyDigest = digest(apiKey);
  return (req) => {
    const key = presentedKey(req);
    return key !== undefined && timingSafeEqual(digest(key), keyDigest);
  };
}
