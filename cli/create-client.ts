// An HttpClient whose retries are told on stderr, at most once per RETRY_NOTICE_MS, so an outage
// is visible without flooding the terminal.
import type { Connection } from './common-options.ts';
import { HttpClient } from './http-client.ts';
import type { Output } from './output.ts';

export const RETRY_NOTICE_MS = 5_000;

export function createClient(connection: Connection, output: Output): HttpClient {
  let lastNotice = Number.NEGATIVE_INFINITY;
  return new HttpClient(connection, ({ reason, retryForMs }) => {
    const now = Date.now();
    if (now - lastNotice < RETRY_NOTICE_MS) return;
    lastNotice = now;
    output.note(
      output.paint(
        'yellow',
        `agent-ops: ${connection.serverUrl} answered ${reason}; retrying for up to ${retryForMs / 1000} s`,
      ),
    );
  });
}
