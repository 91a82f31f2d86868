// A worker's line to the server: announce itself (POST /api/workers), then hold its claims stream
// open (GET /api/workers/:id/claims) and hand each claimed run to the worker. The server pushes a
// claim the moment there is work, so nothing here polls. A lost server is retried for as long as
// the worker lives, under the same worker id, so its claims are still its own when it is back.
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableStatus } from '../shared/retryable-status.ts';
import { SseParser } from '../shared/sse.ts';
import type { ClaimMessage, Run, WorkerAnnouncement, WorkerInfo } from '../shared/types.ts';
import type { IncomingMessage } from 'node:http';
import { backoffDelayMs } from './backoff-delay.ts';
import { CliError } from './cli-error.ts';
import { refused } from './event-sender.ts';
import { STREAM_SILENCE_LIMIT_MS } from '../shared/constants.ts';
import { networkReason, type HttpClient } from './http-client.ts';

export interface WorkerConnectionOptions {
  client: HttpClient;
  announcement: WorkerAnnouncement;
  signal: AbortSignal;
  onClaim(run: Run): void;
  /** Told once connected (again), with the worker as the server sees it. */
  onConnected(worker: WorkerInfo, again: boolean): void;
  /** Told when the line to the server is lost, with why. */
  onLost(reason: string): void;
}

/** Resolves when `signal` aborts; rejects on what retrying cannot fix (a rejected key). */
export async function holdWorkerConnection(options: WorkerConnectionOptions): Promise<void> {
  const { client, signal } = options;
  const announcement = { ...options.announcement };
  let connectedBefore = false;
  for (let attempt = 0; !signal.aborted; attempt++) {
    let reason: string;
    try {
      const answer = await client.send<WorkerInfo>('POST', '/api/workers', announcement);
      client.checkAuth(answer.status, answer.body);
      if (answer.status !== 200 && answer.status !== 201) {
        if (!isRetryableStatus(answer.status)) throw refused('POST /api/workers', answer, true);
        reason = String(answer.status);
      } else {
        announcement.id = answer.body.id;
        const path = `/api/workers/${encodeURIComponent(answer.body.id)}/claims`;
        const headers = { accept: 'text/event-stream' };
        const response = await client.open('GET', path, undefined, headers, false, signal);
        if (response.statusCode !== 200) {
          response.resume();
          reason = `claims stream answered ${response.statusCode}`;
        } else {
          attempt = 0;
          options.onConnected(answer.body, connectedBefore);
          connectedBefore = true;
          reason = await readClaims(response, signal, options.onClaim);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof CliError) throw error;
      reason = networkReason(error);
    }
    if (signal.aborted) return;
    options.onLost(reason);
    try {
      await sleep(backoffDelayMs(attempt), undefined, { signal });
    } catch {
      return;
    }
  }
}

/** Hands on each claim until the stream ends; resolves with why it ended. */
function readClaims(
  response: IncomingMessage,
  signal: AbortSignal,
  onClaim: (run: Run) => void,
): Promise<string> {
  return new Promise((resolve) => {
    const parser = new SseParser();
    let idle: NodeJS.Timeout;
    let settled = false;
    const finish = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      signal.removeEventListener('abort', onAbort);
      response.destroy();
      resolve(reason);
    };
    const onAbort = (): void => finish('stopped');
    // Heartbeats come every 15 s; three missed mean the connection is dead.
    const watch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish('no heartbeat from the server'), STREAM_SILENCE_LIMIT_MS);
    };
    watch();
    signal.addEventListener('abort', onAbort, { once: true });
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      watch();
      for (const message of parser.push(chunk)) {
        const claim = JSON.parse(message.data) as ClaimMessage;
        if (claim.kind === 'claim') onClaim(claim.run);
      }
    });
    response.on('end', () => finish('the server closed the claims stream'));
    response.on('error', (error) => finish(networkReason(error)));
    response.on('close', () => finish('the connection closed'));
  });
}
