// Live fan-out to SSE subscribers: per-run event streams and the run-list stream.
// A run subscriber first replays what it missed from the store, then switches to live delivery in
// the same tick as it catches up, so the seam has no gap and no duplicate.
import type { ServerResponse } from 'node:http';
import {
  HEARTBEAT_MS,
  MAX_SUBSCRIBER_BACKLOG_BYTES,
  RUN_CHANGE_THROTTLE_MS,
} from '../shared/constants.ts';
import { SSE_HEARTBEAT, formatSse } from '../shared/sse.ts';
import type { AgentEvent, Run, RunChange } from '../shared/types.ts';
import type { Store, StoreListener } from './store.ts';

/** Records replayed per read while a subscriber catches up. */
const REPLAY_BATCH = 1000;

interface RunSubscriber {
  res: ServerResponse;
  cursor: number;
  live: boolean;
}

export class StreamHub implements StoreListener {
  #store: Store;
  #runSubscribers = new Map<string, Set<RunSubscriber>>();
  #listSubscribers = new Set<ServerResponse>();
  #others = new Set<ServerResponse>();
  #lastSent = new Map<string, number>();
  #pending = new Map<string, NodeJS.Timeout>();
  #heartbeat: NodeJS.Timeout;

  constructor(store: Store) {
    this.#store = store;
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS).unref();
  }

  stats(): { subscribers: number; maxBufferedBytes: number } {
    let subscribers = 0;
    let maxBufferedBytes = 0;
    for (const res of this.#all()) {
      subscribers++;
      maxBufferedBytes = Math.max(maxBufferedBytes, res.writableLength);
    }
    return { subscribers, maxBufferedBytes };
  }

  /** Starts streaming a run to `res` from the seq after `after`. */
  subscribeRun(runId: string, res: ServerResponse, after: number): void {
    const firstSeq = this.#store.firstSeq(runId);
    if (after + 1 < firstSeq) {
      // Retention removed events the client asked for: say where the log now starts.
      res.write(formatSse(JSON.stringify({ firstSeq }), undefined, 'truncated'));
      after = firstSeq - 1;
    }
    const subscriber: RunSubscriber = { res, cursor: after, live: false };
    let set = this.#runSubscribers.get(runId);
    if (!set) this.#runSubscribers.set(runId, (set = new Set()));
    set.add(subscriber);
    res.on('close', () => {
      set.delete(subscriber);
      if (set.size === 0 && this.#runSubscribers.get(runId) === set)
        this.#runSubscribers.delete(runId);
    });
    this.#replay(runId, subscriber);
  }

  subscribeList(res: ServerResponse): void {
    this.#listSubscribers.add(res);
    res.on('close', () => this.#listSubscribers.delete(res));
  }

  /** Any other long-lived stream (the control channel) that should get heartbeats and be closed. */
  track(res: ServerResponse): void {
    this.#others.add(res);
    res.on('close', () => this.#others.delete(res));
  }

  closeAll(): void {
    clearInterval(this.#heartbeat);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    for (const res of [...this.#all()]) res.end();
  }

  *#all(): Generator<ServerResponse> {
    for (const set of this.#runSubscribers.values()) for (const s of set) yield s.res;
    yield* this.#listSubscribers;
    yield* this.#others;
  }

  #replay(runId: string, subscriber: RunSubscriber): void {
    const { res } = subscriber;
    while (!res.destroyed) {
      const run = this.#store.getRun(runId);
      if (!run) return;
      if (subscriber.cursor >= run.lastSeq) {
        subscriber.live = true;
        return;
      }
      const lines = this.#store.readLines(runId, subscriber.cursor, REPLAY_BATCH);
      let chunk = '';
      for (const line of lines) chunk += formatSse(line, ++subscriber.cursor);
      if (!res.write(chunk)) {
        res.once('drain', () => this.#replay(runId, subscriber));
        return;
      }
    }
  }

  onEvent(run: Run, event: AgentEvent, line: string): void {
    const set = this.#runSubscribers.get(run.id);
    const { seq } = event;
    if (!set) return;
    let frame: string | undefined;
    for (const subscriber of set) {
      if (!subscriber.live) continue;
      frame ??= formatSse(line, seq);
      subscriber.cursor = seq;
      this.#send(subscriber.res, frame);
    }
  }

  /** Writes, cutting off a subscriber whose unsent backlog passed the bound; it resumes by id. */
  #send(res: ServerResponse, frame: string): void {
    if (res.destroyed) return;
    res.write(frame);
    if (res.writableLength > MAX_SUBSCRIBER_BACKLOG_BYTES) res.destroy();
  }

  onRunChange(run: Run, immediate: boolean): void {
    if (this.#listSubscribers.size === 0) return;
    const pending = this.#pending.get(run.id);
    const wait = (this.#lastSent.get(run.id) ?? 0) + RUN_CHANGE_THROTTLE_MS - Date.now();
    if (immediate || wait <= 0) {
      if (pending) clearTimeout(pending);
      this.#pending.delete(run.id);
      this.#broadcastRun(run.id);
      return;
    }
    if (pending) return;
    this.#pending.set(
      run.id,
      setTimeout(() => {
        this.#pending.delete(run.id);
        this.#broadcastRun(run.id);
      }, wait),
    );
  }

  #broadcastRun(id: string): void {
    const run = this.#store.getRun(id);
    if (!run) return;
    this.#lastSent.set(id, Date.now());
    this.#broadcastList({ kind: 'run', run });
  }

  onRunDeleted(id: string): void {
    const pending = this.#pending.get(id);
    if (pending) clearTimeout(pending);
    this.#pending.delete(id);
    this.#lastSent.delete(id);
    for (const subscriber of this.#runSubscribers.get(id) ?? []) subscriber.res.end();
    this.#runSubscribers.delete(id);
    this.#broadcastList({ kind: 'deleted', id });
  }

  /** A change that is not a run's (a worker's), for every run-list subscriber. */
  announce(change: RunChange): void {
    this.#broadcastList(change);
  }

  #broadcastList(change: RunChange): void {
    const frame = formatSse(JSON.stringify(change));
    for (const res of this.#listSubscribers) this.#send(res, frame);
  }

  #beat(): void {
    for (const res of this.#all()) this.#send(res, SSE_HEARTBEAT);
  }
}
