// Delivers one run's events in order: one request in flight, everything that queued up behind it
// goes out as the next batch, and every event carries an idempotency id from the moment it is
// queued, so a retried request can never store an event twice.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_BATCH_EVENTS } from '../shared/constants.ts';
import { isRetryableStatus } from '../shared/retryable-status.ts';
import { runApiPath } from '../shared/run-url.ts';
import type { BatchItemResult, EventInput, RunPatch } from '../shared/types.ts';
import { backoffDelayMs } from './backoff-delay.ts';
import { CliError } from './cli-error.ts';
import { EXIT } from './exit-codes.ts';
import { errorText, type HttpClient, type HttpResponse } from './http-client.ts';

/** Half the server's body limit, so a batch is never refused for its size. */
export const MAX_BATCH_BYTES = 512 * 1024;

export type OutgoingEvent = EventInput & { id: string; ts: string };

type Item =
  | { kind: 'event'; event: OutgoingEvent; bytes: number; queuedAt: number }
  | { kind: 'patch'; patch: RunPatch };

export interface SenderStats {
  sent: number;
  /** Milliseconds from queueing to acknowledgement, one entry per event. */
  ackLatenciesMs: number[];
}

export class EventSender {
  readonly runId: string;
  readonly stats: SenderStats = { sent: 0, ackLatenciesMs: [] };
  readonly #client: HttpClient;
  readonly #path: string;
  #queue: Item[] = [];
  #pumping = false;
  #error: CliError | undefined;
  /** What the server said of the last event it could not store for now (a 5xx inside a 207). */
  #lastRefusal: string | undefined;
  #waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];

  constructor(client: HttpClient, runId: string) {
    this.#client = client;
    this.runId = runId;
    this.#path = runApiPath(runId);
  }

  /** The error that ended delivery, if any; the producer should stop making events. */
  get error(): CliError | undefined {
    return this.#error;
  }

  get pending(): number {
    return this.#queue.length;
  }

  emit(input: EventInput): OutgoingEvent {
    const event: OutgoingEvent = { id: randomUUID(), ts: new Date().toISOString(), ...input };
    const bytes = Buffer.byteLength(JSON.stringify(event)) + 1;
    this.#queue.push({ kind: 'event', event, bytes, queuedAt: performance.now() });
    this.#pump();
    return event;
  }

  /** A PATCH of the run, delivered in order with the events around it. */
  patch(patch: RunPatch): void {
    this.#queue.push({ kind: 'patch', patch });
    this.#pump();
  }

  /** Resolves once everything queued so far is acknowledged; rejects with what ended delivery. */
  flush(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#queue.length === 0 && !this.#pumping) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async #pump(): Promise<void> {
    if (this.#pumping || this.#error) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0]!;
        if (head.kind === 'patch') {
          await this.#sendPatch(head.patch);
          this.#queue.shift();
        } else {
          await this.#sendBatch();
        }
      }
    } catch (error) {
      this.#error =
        error instanceof CliError
          ? error
          : new CliError(EXIT.failed, `delivery failed: ${String(error)}`);
    } finally {
      this.#pumping = false;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const waiter of waiters) {
        if (this.#error) waiter.reject(this.#error);
        else waiter.resolve();
      }
    }
  }

  async #sendPatch(patch: RunPatch): Promise<void> {
    const response = await this.#client.request('PATCH', this.#path, patch);
    if (response.status !== 200) throw refused(`PATCH ${this.#path}`, response);
  }

  /** Sends the events at the head of the queue; 207 partial answers keep the unstored ones queued. */
  async #sendBatch(): Promise<void> {
    let failingSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      const batch: Array<Extract<Item, { kind: 'event' }>> = [];
      let bytes = 2;
      for (const item of this.#queue) {
        if (item.kind !== 'event' || batch.length === MAX_BATCH_EVENTS) break;
        if (batch.length > 0 && bytes + item.bytes > MAX_BATCH_BYTES) break;
        batch.push(item);
        bytes += item.bytes;
      }
      // A lone event goes as a plain object, as the original CLI sent it.
      const body = batch.length === 1 ? batch[0]!.event : batch.map((item) => item.event);
      const response = await this.#client.request('POST', `${this.#path}/events`, body);
      let stored: number;
      if (response.status === 200 || response.status === 201) stored = batch.length;
      else if (response.status === 207) stored = this.#storedPrefix(batch, response.body?.results);
      else throw refused(`POST ${this.#path}/events`, response);

      const now = performance.now();
      for (const item of this.#queue.splice(0, stored)) {
        if (item.kind === 'event') this.stats.ackLatenciesMs.push(now - item.queuedAt);
      }
      this.stats.sent += stored;
      if (stored === batch.length) return;

      // Some items met a transient failure (5xx inside a 207): resend them, within --retry-for.
      failingSince ??= Date.now();
      const delayMs = backoffDelayMs(attempt);
      if (Date.now() - failingSince + delayMs > this.#client.retryForMs) {
        throw this.#client.unavailable(
          `POST ${this.#path}/events`,
          this.#lastRefusal ?? 'events refused with 5xx',
          this.#client.retryForMs,
        );
      }
      await sleep(delayMs);
    }
  }

  /** How many leading items of a 207 were stored; a refused (4xx) item is a bug, not retried. */
  #storedPrefix(batch: ReadonlyArray<{ event: OutgoingEvent }>, results: unknown): number {
    if (!Array.isArray(results) || results.length !== batch.length) {
      throw new CliError(
        EXIT.failed,
        `the server's 207 answer has no result per event; this is a server bug`,
      );
    }
    for (let i = 0; i < results.length; i++) {
      const result = results[i] as BatchItemResult;
      if (result.status === 200 || result.status === 201) continue;
      if (isRetryableStatus(result.status)) {
        this.#lastRefusal = `${result.status}${result.error ? `: ${result.error}` : ''}`;
        return i;
      }
      throw new CliError(
        EXIT.failed,
        `the server refused event ${JSON.stringify(batch[i]!.event.type)} (${result.status}${result.error ? `: ${result.error}` : ''}); ` +
          'agent-ops should never send that, so this is a bug: please report it',
      );
    }
    return results.length;
  }
}

/**
 * An answer that retrying cannot fix. An answer without the protocol's `{"error"}` comes from
 * something that is not an agent-ops server. Otherwise, for what the CLI builds itself that is a
 * bug; for what the user handed over (`fromUser`), the server's own words say what to change.
 */
export function refused(what: string, response: HttpResponse, fromUser = false): CliError {
  const why = errorText(response.body);
  if (why === '') {
    return new CliError(
      EXIT.failed,
      `the server answered ${what} with ${response.status} and no agent-ops error; ` +
        'is --server an agent-ops server? Start one with "agent-ops serve"',
    );
  }
  const answer = `the server refused ${what} (${response.status}${why})`;
  if (response.status === 410) {
    return new CliError(EXIT.failed, `${answer}; the run was deleted, so nothing more is stored`);
  }
  if (fromUser) return new CliError(EXIT.failed, answer);
  return new CliError(
    EXIT.failed,
    `${answer}; agent-ops should never send that, so this is a bug: please report it`,
  );
}
