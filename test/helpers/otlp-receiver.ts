// A local OTLP/HTTP receiver for export tests: records every request and answers as the test
// says (take, fail with a status and headers, or drop the connection), so delivery can be driven
// through failure, throttling and recovery.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed OTLP JSON body. */
  body: OtlpJson;
  /** What the receiver answered: a status, or 0 for a dropped or unanswered request. */
  answered: number;
}

export interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code: number; message?: string };
}

export interface OtlpJson {
  resourceSpans: Array<{
    resource?: { attributes?: Array<{ key: string; value: Record<string, unknown> }> };
    scopeSpans: Array<{ scope?: { name: string; version?: string }; spans: OtlpJsonSpan[] }>;
  }>;
}

/**
 * How to answer request number `n` (from 0): take it, refuse it, drop the connection, or never
 * answer (until the receiver closes).
 */
export type Answer =
  { status: number; headers?: Record<string, string>; body?: string } | 'drop' | 'hang';

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Spans of the requests answered 200, in arrival order. */
  taken(): OtlpJsonSpan[];
  answer: (n: number) => Answer;
  close(): Promise<void>;
}

export const TAKE: Answer = { status: 200, body: '{}' };

export async function startReceiver(answer: (n: number) => Answer = () => TAKE): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    requests: [],
    answer,
    taken: () =>
      receiver.requests
        .filter((r) => r.answered === 200)
        .flatMap((r) =>
          r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)),
        ),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = receiver.requests.length;
      const reply = receiver.answer(n);
      receiver.requests.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson,
        answered: typeof reply === 'string' ? 0 : reply.status,
      });
      if (reply === 'hang') return;
      if (reply === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
