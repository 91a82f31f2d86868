// Holds a run's control channel open while the producer works, so pause / resume / stop from the
// dashboard or the API reach the work itself: each request is carried out by the producer's
// handlers, then confirmed with run.paused / run.resumed (run.stopped is posted by the producer
// once the work has really ended). A dropped channel resumes with Last-Event-ID, so a request is
// never carried out twice.
import {
  DIRECTIVE_DELIVERED,
  parseChannelMessage,
  type ApprovalMessage,
  type DirectiveMessage,
} from '../shared/approvals.ts';
import { CONTROL_CONFIRMATION, isControlAction } from '../shared/control-transitions.ts';
import { runApiPath } from '../shared/run-url.ts';
import type { ControlAction, EventInput, JsonObject } from '../shared/types.ts';
import { isObject } from '../shared/validate.ts';
import { CliError } from './cli-error.ts';
import type { EventSender } from './event-sender.ts';
import { EXIT } from './exit-codes.ts';
import { followStream } from './follow-stream.ts';
import type { HttpClient } from './http-client.ts';

export interface ControlRequest {
  action: ControlAction;
  reason?: string;
}

export interface ControlHandlers {
  /**
   * Freezes the work; false when there is nothing to freeze, and then nothing is confirmed. A
   * promise defers the confirmation until the work has actually stopped (a step boundary).
   */
  pause(): boolean | Promise<boolean>;
  /** Lets the work go on; false when there is nothing to resume. */
  resume(): boolean;
  /** Starts ending the work; the producer posts run.stopped once it has ended. */
  stop(reason: string | undefined): void;
  /**
   * Hands a directive to the work; true when it reached it, and then it is confirmed with
   * directive.delivered. Without this handler directives are recorded by the server only.
   */
  directive?(message: DirectiveMessage): boolean;
}

export interface ControlChannelOptions {
  client: HttpClient;
  sender: EventSender;
  handlers: ControlHandlers;
  /** Told when the channel is given up on (the run goes on without control). */
  onLost?(error: CliError): void;
  /** The run's last seq when this producer took it: older messages are not for it. */
  afterSeq?: number;
}

/** The producer's confirmation of a stop request, with whatever else the producer knows. */
export function stoppedOnRequest(reason: string | undefined, details: JsonObject): EventInput {
  return {
    type: CONTROL_CONFIRMATION.stop,
    level: 'warn',
    payload: {
      message: `Stopped on request${reason === undefined ? '' : `: ${reason}`}`,
      ...(reason === undefined ? {} : { reason }),
      by: 'producer',
      ...details,
    },
  };
}

/** A control message's data, or undefined when it is not one this CLI understands. */
export function parseControlRequest(data: string): ControlRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const { action, reason } = value;
  if (!isControlAction(action)) return undefined;
  return typeof reason === 'string' ? { action, reason } : { action };
}

export class ControlChannel {
  readonly #options: ControlChannelOptions;
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;
  #paused = false;
  /** A pause is asked for and will be confirmed once the work holds still. */
  #pausing = false;
  #stopRequest: { reason: string | undefined } | undefined;
  #wake: Array<() => void> = [];
  /** Decisions received, by approval id, and who waits for one not received yet. */
  #decisions = new Map<string, ApprovalMessage>();
  #decisionWaiters = new Map<string, Array<(message: ApprovalMessage | undefined) => void>>();
  #directivesSeen = new Set<string>();

  constructor(options: ControlChannelOptions) {
    this.#options = options;
    const { client, sender } = options;
    this.#done = followStream({
      client,
      path: runApiPath(sender.runId, '/control'),
      ...(options.afterSeq ? { lastEventId: String(options.afterSeq) } : {}),
      signal: this.#abort.signal,
      notFound: `run ${JSON.stringify(sender.runId)} is gone from ${client.baseUrl}; it can no longer be paused or stopped`,
      onMessage: (message) => {
        const request = parseControlRequest(message.data);
        if (request) this.#handle(request);
        else this.#handleMessage(message.data);
        return false;
      },
    })
      .catch((error: unknown) => {
        if (error instanceof CliError) options.onLost?.(error);
        else
          options.onLost?.(new CliError(EXIT.failed, `control channel failed: ${String(error)}`));
      })
      .finally(() => this.#settleWaiters());
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Set once a stop was requested: the reason given with it, if any. */
  get stopRequest(): { reason: string | undefined } | undefined {
    return this.#stopRequest;
  }

  /** Resolves at once unless paused; otherwise on resume, on a stop request, or when `signal` aborts. */
  untilResumed(signal?: AbortSignal): Promise<void> {
    if (!this.#paused || this.#stopRequest || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.#wake.push(done);
    });
  }

  /**
   * Resolves with the decision on `approvalId` once it arrives (at once if it already has), or
   * undefined when the channel is closed or lost, or `signal` aborts, before it does.
   */
  decision(approvalId: string, signal?: AbortSignal): Promise<ApprovalMessage | undefined> {
    const known = this.#decisions.get(approvalId);
    if (known || this.#abort.signal.aborted || signal?.aborted) return Promise.resolve(known);
    return new Promise((resolve) => {
      const done = (message: ApprovalMessage | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(message);
      };
      const onAbort = (): void => {
        const waiters = this.#decisionWaiters.get(approvalId) ?? [];
        this.#decisionWaiters.set(
          approvalId,
          waiters.filter((waiter) => waiter !== done),
        );
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const waiters = this.#decisionWaiters.get(approvalId) ?? [];
      this.#decisionWaiters.set(approvalId, [...waiters, done]);
    });
  }

  /** Lets go of the channel (the server then shows no producer attached). */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#done;
    this.#wakeAll();
    this.#settleWaiters();
  }

  #handle({ action, reason }: ControlRequest): void {
    // After a stop, or once closed, nothing else is carried out.
    if (this.#stopRequest || this.#abort.signal.aborted) return;
    const { handlers, sender } = this.#options;
    const payload = { ...(reason === undefined ? {} : { reason }), by: 'producer' };
    switch (action) {
      case 'pause': {
        // A second request that crossed our confirmation on the wire needs nothing more.
        if (this.#paused || this.#pausing) return;
        const confirm = (held: boolean) => {
          this.#pausing = false;
          if (!held || this.#stopRequest || this.#abort.signal.aborted) return;
          this.#paused = true;
          sender.emit({
            type: 'run.paused',
            payload: { message: 'Paused on request', ...payload },
          });
        };
        const held = handlers.pause();
        if (typeof held === 'boolean') return confirm(held);
        this.#pausing = true;
        void held.then(confirm);
        return;
      }
      case 'resume':
        if (!this.#paused || !handlers.resume()) return;
        this.#paused = false;
        sender.emit({
          type: 'run.resumed',
          payload: { message: 'Resumed on request', ...payload },
        });
        this.#wakeAll();
        return;
      case 'stop':
        this.#stopRequest = { reason };
        handlers.stop(reason);
        this.#wakeAll();
        return;
      default:
        action satisfies never;
    }
  }

  /** Approval decisions and directives: the messages besides pause / resume / stop. */
  #handleMessage(data: string): void {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return;
    }
    const message = isObject(value) ? parseChannelMessage(value) : undefined;
    if (!message || this.#abort.signal.aborted) return;
    if (message.action === 'approval') {
      if (this.#decisions.has(message.approvalId)) return;
      this.#decisions.set(message.approvalId, message);
      const waiters = this.#decisionWaiters.get(message.approvalId) ?? [];
      this.#decisionWaiters.delete(message.approvalId);
      for (const resolve of waiters) resolve(message);
      return;
    }
    // A directive replayed after a reconnect is handed over once.
    if (this.#directivesSeen.has(message.directiveId)) return;
    this.#directivesSeen.add(message.directiveId);
    const { handlers, sender } = this.#options;
    if (!handlers.directive?.(message)) return;
    sender.emit({
      type: DIRECTIVE_DELIVERED,
      payload: { directiveId: message.directiveId, message: `Directive received: ${message.text}` },
    });
  }

  #settleWaiters(): void {
    const waiting = [...this.#decisionWaiters.values()].flat();
    this.#decisionWaiters.clear();
    for (const resolve of waiting) resolve(undefined);
  }

  #wakeAll(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const resolve of wake) resolve();
  }
}
