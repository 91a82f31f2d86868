// Follows an SSE endpoint for as long as the caller wants, reconnecting after a dropped
// connection or a restarted server with Last-Event-ID, so nothing is missed or repeated.
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SSE_RETRY_MS, STREAM_SILENCE_LIMIT_MS } from '../shared/constants.ts';
import { isRetryableStatus } from '../shared/retryable-status.ts';
import { SseParser, type SseMessage } from '../shared/sse.ts';
import { backoffDelayMs } from './backoff-delay.ts';
import { CliError } from './cli-error.ts';
import { refused } from './event-sender.ts';
import { EXIT } from './exit-codes.ts';
import { networkReason, type HttpClient } from './http-client.ts';

export interface FollowOptions {
  client: HttpClient;
  path: string;
  /** Resume after this id (a seq); undefined starts from what the endpoint sends first. */
  lastEventId?: string;
  signal: AbortSignal;
  /** Called for every message; return true to stop following. */
  onMessage(message: SseMessage): boolean | Promise<boolean>;
  /** Told of each reconnect, with why. */
  onReconnect?(reason: string): void;
  /** What a 404 means for this endpoint. */
  notFound: string;
}

export async function followStream(options: FollowOptions): Promise<void> {
  const { client, path, signal } = options;
  let lastEventId = options.lastEventId;
  let failingSince: number | undefined;
  let retryMs = SSE_RETRY_MS;
  for (let attempt = 0; !signal.aborted; attempt++) {
    let reason: string;
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      // Abortable: a stream that never answers (a buffering proxy) must not hold the caller.
      const response = await client.open('GET', path, undefined, headers, false, signal);
      if (signal.aborted) {
        response.destroy();
        return;
      }
      client.checkAuth(response.statusCode);
      if (response.statusCode === 404) {
        response.resume();
        throw new CliError(EXIT.failed, options.notFound);
      }
      if (response.statusCode !== 200) {
        const status = response.statusCode ?? 0;
        response.resume();
        if (!isRetryableStatus(status))
          throw refused(`GET ${path}`, { status, headers: response.headers, body: undefined });
        reason = String(status);
      } else {
        failingSince = undefined;
        attempt = 0;
        const parser = new SseParser();
        const stop = await readMessages(response, parser, signal, async (message) => {
          if (message.id !== undefined) lastEventId = message.id;
          return options.onMessage(message);
        });
        retryMs = parser.retryMs ?? retryMs;
        if (stop || signal.aborted) return;
        reason = 'the stream ended';
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (signal.aborted) return;
      reason = networkReason(error);
    }
    failingSince ??= Date.now();
    const delayMs = backoffDelayMs(attempt, retryMs);
    if (Date.now() - failingSince + delayMs > client.retryForMs)
      throw client.unreachable(reason, client.retryForMs);
    options.onReconnect?.(reason);
    try {
      await sleep(delayMs, undefined, { signal });
    } catch {
      return;
    }
  }
}

/** Resolves true when the caller asked to stop, false when the connection ended by itself. */
function readMessages(
  response: IncomingMessage,
  parser: SseParser,
  signal: AbortSignal,
  onMessage: (message: SseMessage) => Promise<boolean>,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let chain = Promise.resolve();
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      clearTimeout(idle);
      response.destroy();
      return true;
    };
    const finish = (stop: boolean): void => {
      if (settle()) resolve(stop);
    };
    const fail = (error: unknown): void => {
      if (settle()) reject(error);
    };
    const onAbort = (): void => finish(true);
    let idle = setTimeout(() => finish(false), STREAM_SILENCE_LIMIT_MS);
    signal.addEventListener('abort', onAbort);
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(false), STREAM_SILENCE_LIMIT_MS);
      for (const message of parser.push(chunk)) {
        // Messages are handled strictly one after another, in the order they arrived.
        chain = chain
          .then(async () => {
            if (!settled && (await onMessage(message))) finish(true);
          })
          .catch(fail);
      }
    });
    const ended = (): void => void chain.then(() => finish(false));
    response.on('end', ended);
    response.on('error', ended);
    response.on('close', ended);
  });
}
