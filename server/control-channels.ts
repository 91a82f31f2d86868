// Run control: pause / resume / stop requests, and the SSE channel a producer holds open to hear
// them. With no producer attached, the server applies a request itself.
import type { ServerResponse } from 'node:http';
import { CONTROL_ALLOWED_FROM, CONTROL_CONFIRMATION } from '../shared/control-transitions.ts';
import { ConflictError, NotFoundError } from '../shared/errors.ts';
import { formatSse } from '../shared/sse.ts';
import type { ControlAction, Run } from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
import type { Store } from './store.ts';
import type { StreamHub } from './stream-hub.ts';

interface Pending {
  seq: number;
  message: string;
}

/** Messages a producer that attaches after `after` (its Last-Event-ID) has not seen yet. */
export type ReplaySource = (runId: string, after: number) => Pending[];

export class ControlChannels {
  #store: Store;
  #hub: StreamHub;
  #channels = new Map<string, Set<ServerResponse>>();
  /** The last request of each run whose producer has not confirmed it, as sent on the channel. */
  #pending = new Map<string, Pending>();
  #replaySources: ReplaySource[] = [];
  /** Per run, the request being decided; the next one waits for it. */
  #deciding = new Map<string, Promise<void>>();

  constructor(store: Store, hub: StreamHub) {
    this.#store = store;
    this.#hub = hub;
  }

  /**
   * Decides control requests to one run one at a time, each against the run as the previous one
   * left it, so two racing requests never both pass and nothing follows a terminal event.
   */
  request(run: Run, action: ControlAction, reason: string | undefined): Promise<Run> {
    const previous = this.#deciding.get(run.id) ?? Promise.resolve();
    const decided = previous.then(
      () => this.#decide(run.id, action, reason),
      () => this.#decide(run.id, action, reason),
    );
    const settled = decided.then(
      () => {},
      () => {},
    );
    this.#deciding.set(run.id, settled);
    void settled.then(() => {
      if (this.#deciding.get(run.id) === settled) this.#deciding.delete(run.id);
    });
    return decided;
  }

  async #decide(runId: string, action: ControlAction, reason: string | undefined): Promise<Run> {
    const run = this.#store.getRun(runId);
    if (!run) throw new NotFoundError(`run ${JSON.stringify(runId)} not found`);
    if (!CONTROL_ALLOWED_FROM[action].includes(run.status)) {
      throw new ConflictError(
        `cannot ${action} run ${JSON.stringify(run.id)}: its status is ${run.status}; ${action} is allowed from ${CONTROL_ALLOWED_FROM[action].join(', ')}`,
      );
    }
    // A request the producer has not confirmed yet is not asked for again, and nothing but the
    // stop goes on while a stop is pending.
    const unconfirmed = run.control?.pending;
    if (unconfirmed !== undefined && (unconfirmed === action || unconfirmed === 'stop')) {
      throw new ConflictError(
        `cannot ${action} run ${JSON.stringify(run.id)}: a ${unconfirmed} is already pending (its producer has not confirmed it yet)`,
      );
    }
    const payload = reason === undefined ? {} : { reason };
    const requestedEvent = { type: `run.${action}_requested`, payload };
    const channels = this.#channels.get(run.id);
    if (!channels || channels.size === 0) {
      // Request and confirmation in one write: nothing can land between them.
      await this.#store.appendEvents(run.id, [
        requestedEvent,
        { type: CONTROL_CONFIRMATION[action], payload: { ...payload, by: 'server' } },
      ]);
      return this.#store.getRun(run.id)!;
    }
    const [requested] = await this.#store.appendEvents(run.id, [requestedEvent]);
    const seq = 'event' in requested! ? requested.event.seq : 0;
    const pending = { seq, message: formatSse(JSON.stringify({ action, ...payload }), seq) };
    this.#pending.set(run.id, pending);
    for (const res of channels) res.write(pending.message);
    return this.#store.setControl(run.id, {
      ...run.control,
      pending: action,
      producerAttached: true,
    });
  }

  /** Sends `data` as message `seq` to every producer holding the run's channel. */
  send(runId: string, seq: number, data: object): void {
    const channels = this.#channels.get(runId);
    if (!channels) return;
    const message = formatSse(JSON.stringify(data), seq);
    for (const res of channels) res.write(message);
  }

  /** Another kind of message (approval decisions, directives) that attach replays when missed. */
  addReplaySource(source: ReplaySource): void {
    this.#replaySources.push(source);
  }

  /** A producer holds this open; a request it has not seen (by Last-Event-ID) is sent at once. */
  attach(runId: string, res: ServerResponse, lastSeenSeq: number): void {
    let channels = this.#channels.get(runId);
    if (!channels) this.#channels.set(runId, (channels = new Set()));
    channels.add(res);
    this.#hub.track(res);
    const run = this.#store.getRun(runId)!;
    const pending = this.#pending.get(runId);
    const missed = this.#replaySources.flatMap((source) => source(runId, lastSeenSeq));
    if (pending && run.control?.pending && pending.seq > lastSeenSeq) missed.push(pending);
    // In seq order, so the producer's Last-Event-ID always means "everything up to here".
    for (const message of missed.sort((a, b) => a.seq - b.seq)) res.write(message.message);
    // A producer that reconnects is no longer detached.
    const { detachedAt: _, ...control } = run.control ?? { producerAttached: true };
    // The first attach is written at once: after a crash, the restarted server must know this run
    // had a producer to lose (control state is otherwise only checkpointed).
    if (run.control === undefined)
      this.#store.updateRun(runId, (current) => ({
        ...current,
        control: { producerAttached: true },
      }));
    else this.#store.setControl(runId, { ...control, producerAttached: true });
    res.on('close', () => {
      channels.delete(res);
      if (channels.size > 0) return;
      this.#channels.delete(runId);
      const current = this.#store.getRun(runId);
      if (!current) return;
      // From now on the run counts down to producer-lost (producer-leases.ts), unless it ended.
      const detached = isTerminal(current.status) ? {} : { detachedAt: new Date().toISOString() };
      this.#store.setControl(runId, { ...current.control, producerAttached: false, ...detached });
    });
  }
}
