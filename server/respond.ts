// The one place that turns results and errors into HTTP responses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentOpsError, UnavailableError, type ErrorKind } from '../shared/errors.ts';
import { HttpError } from './http-error.ts';

const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  gone: 410,
  unavailable: 503,
};

/** The status a domain error is answered with. */
export function statusOf(error: AgentOpsError): number {
  return STATUS_OF_KIND[error.kind];
}

/** Any error as the answer it gets; anything not known is a 500. */
export function errorAnswer(error: unknown): {
  status: number;
  message: string;
  headers: Record<string, string>;
} {
  if (error instanceof HttpError)
    return { status: error.status, message: error.message, headers: error.headers };
  if (error instanceof AgentOpsError) {
    const headers: Record<string, string> =
      error instanceof UnavailableError ? { 'retry-after': String(error.retryAfterS) } : {};
    return { status: statusOf(error), message: error.message, headers };
  }
  return {
    status: 500,
    message: `internal error: ${(error as Error)?.message ?? error}`,
    headers: {},
  };
}

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

/** Maps any error to `{"error": …}`; an unknown error is a 500 and is logged with its stack. */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  log: (line: string) => void,
): void {
  const answer = errorAnswer(error);
  if (answer.status === 500) log(`error ${req.method} ${req.url}: ${(error as Error)?.stack}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, answer.status, { error: answer.message }, answer.headers);
}
