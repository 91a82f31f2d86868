// Reads a JSON request body within MAX_BODY_BYTES, refusing what is not JSON, not UTF-8, too big,
// too deep or carries a `__proto__` key. Every refusal names the problem.
import type { IncomingMessage } from 'node:http';
import { MAX_BODY_BYTES } from '../shared/constants.ts';
import { invalid } from '../shared/errors.ts';
import { HttpError } from './http-error.ts';
import { checkJsonShape, quote } from '../shared/validate.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `request body must be at most ${maxBytes} bytes`);
}

function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  // What every producer sends, checked without allocating.
  if (contentType === 'application/json') return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The parsed body, or undefined when the request has none. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req, MAX_BODY_BYTES);
  if (raw.length === 0) return undefined;
  if (!isJsonType(req.headers['content-type'])) {
    throw new HttpError(
      415,
      `content-type must be application/json; got ${quote(req.headers['content-type'] ?? '')}`,
    );
  }
  const body = parseJsonBytes(raw);
  checkJsonShape(body);
  return body;
}

/** UTF-8 JSON bytes parsed, or a ValidationError that says why not. */
export function parseJsonBytes(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw invalid('request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * A client that is still sending when the server answers and closes gets a reset instead of the
 * answer, so a body over the limit is read to its end and discarded before the 413 goes out, up to
 * this much; past it the connection is dropped after the answer.
 */
const DISCARD_LIMIT_BYTES = 64 * 1024 * 1024;

/** Collects the body; past the limit it keeps reading but no longer keeps the chunks. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = Number(req.headers['content-length'] ?? 0) > maxBytes;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (!refused && size > maxBytes) {
        refused = true;
        chunks.length = 0;
      }
      if (!refused) chunks.push(chunk);
      else if (size > DISCARD_LIMIT_BYTES) {
        req.off('data', onData);
        req.pause();
        reject(new HttpError(413, tooLarge(maxBytes).message, { connection: 'close' }));
      }
    };
    req.on('data', onData);
    req.on('end', () => {
      if (refused) reject(tooLarge(maxBytes));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}
