// The one place that turns results and errors into HTTP responses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../shared/http-error.ts';

export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers': 'content-type, x-api-key, authorization, last-event-id',
  'access-control-expose-headers': 'link',
  'access-control-max-age': '600',
} as const;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonBytes(res, status, Buffer.from(JSON.stringify(body)), headers);
}

/** For bodies already encoded: stored records are answered with the bytes that were written. */
export function sendJsonBytes(
  res: ServerResponse,
  status: number,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    ...headers,
  });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

/**
 * CORS headers go only on answers to browsers' cross-origin requests (those with an Origin), so
 * the ingest hot path does not pay for headers nobody reads.
 */
export function allowCrossOrigin(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.origin === undefined && req.method !== 'OPTIONS') return;
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
}

/** Maps any error to `{"error": …}`; anything that is not an HttpError is a 500 and is logged. */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  log: (line: string) => void,
): void {
  const httpError =
    error instanceof HttpError
      ? error
      : new HttpError(500, `internal error: ${(error as Error)?.message ?? error}`);
  if (httpError.status >= 500 && !(error instanceof HttpError))
    log(`error ${req.method} ${req.url}: ${(error as Error)?.stack}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, httpError.status, { error: httpError.message }, httpError.headers);
}
