// Starting an SSE answer, and where a resuming client wants it to start.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SSE_HEADERS, SSE_PREAMBLE } from '../shared/sse.ts';
import { parseIntParam } from '../shared/validate.ts';

/** Writes the SSE head; false for HEAD, which gets the head alone. */
export function openSse(res: ServerResponse): boolean {
  res.writeHead(200, SSE_HEADERS);
  if (res.req.method === 'HEAD') {
    res.end();
    return false;
  }
  res.write(SSE_PREAMBLE);
  res.socket?.setNoDelay(true);
  return true;
}

/** Where a stream resumes: the Last-Event-ID header wins over `?after=`; neither means 0. */
export function resumeCursor(req: IncomingMessage, query: URLSearchParams): number {
  const header = req.headers['last-event-id'];
  const max = Number.MAX_SAFE_INTEGER;
  if (typeof header === 'string' && header !== '') {
    return parseIntParam(header, 'Last-Event-ID', 0, 0, max);
  }
  return parseIntParam(query.get('after'), 'after', 0, 0, max);
}
