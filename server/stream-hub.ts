// Live fan-out to SSE subscribers: per-run event streams and the run-list stream.
// A run subscriber first replays what it missed from the store, then switches to live delivery in
// the same tick as it catches up, so the seam has no gap and no duplicate.
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import {
  HEARTBEAT_MS,
  MAX_SUBSCRIBER_BACKLOG_BYTES,
  RUN_CHANGE_THROTTLE_MS,
} from '../shared/constants.ts';
import { SSE_HEARTBEAT, SSE_TRUNCATED_EVENT, formatSse } from '../shared/sse.ts';
import type { AgentEvent, Run, RunChange } from '../shared/types.ts';
import type { Store, StoreListener } from './store.ts';

/** Records replayed per read while a subscriber catches up. */
const REPLAY_BATCH = 1000;
/** Held frames are handed to Node this much at a time, each time its buffer drains. */
const FLUSH_BYTES = 64 * 1024;
/**
 * Record bytes replayed per read (past one record). A replay batch is built for one subscriber
 * alone and held until its socket takes it, so this, not the run's history, is what each of
 * hundreds of subscribers that stopped reading mid-replay costs the server.
 */
const REPLAY_BATCH_BYTES = 16 * 1024;
const HEARTBEAT_BYTES = Buffer.byteLength(SSE_HEARTBEAT);
/**
 * A run's records go out to its subscribers at most once per this many ms per subscriber, so a
 * fan-out costs the server at most ~50,000 socket writes a second whatever the number of
 * subscribers: one write per subscriber for a run of 500 carries the records of 10 ms, where
 * one write per record would spend the server's core in writev at 1,000 events/s. A run with a
 * few subscribers waits microseconds, and records arriving after a quiet spell go out at once.
 */
const FANOUT_SPACING_MS_PER_SUBSCRIBER = 0.02;

/**
 * Frames held for a response whose socket is not taking more (or a replay batch being handed over). They stay here, not in Node's
 * buffer, so the bound is checked before anything is queued in Node and cutting a subscriber off
 * drops one array instead of making Node fail thousands of queued writes one by one. The frames
 * are the strings every subscriber shares, so a backlog costs references, not copies.
 */
interface Backlog {
  frames: string[];
  /** Index of the first frame not yet handed to Node, and how much of it was. */
  head: number;
  offset: number;
  /** Bytes of the frames not yet handed to Node. */
  bytes: number;
  /** Runs once every frame is in Node's hands and the socket took the last write. */
  onFlushed?: () => void;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

interface RunSubscriber {
  res: ServerResponse;
  cursor: number;
  live: boolean;
}

/** Frames of records written since a run's last fan-out, from `firstSeq` on. */
interface Outgoing {
  firstSeq: number;
  frames: string[];
  /** Set while the fan-out waits for the run's spacing to pass. */
  timer?: NodeJS.Timeout;
}

export class StreamHub implements StoreListener {
  #store: Store;
  #runSubscribers = new Map<string, Set<RunSubscriber>>();
  #listSubscribers = new Set<ServerResponse>();
  #others = new Set<ServerResponse>();
  #lastSent = new Map<string, number>();
  #pending = new Map<string, NodeJS.Timeout>();
  #heartbeat: NodeJS.Timeout;
  #backlogs = new Map<ServerResponse, Backlog>();
  #outgoing = new Map<string, Outgoing>();
  /** When each run with subscribers last fanned out, performance.now() ms. */
  #fannedOutAt = new Map<string, number>();

  constructor(store: Store) {
    this.#store = store;
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS).unref();
  }

  stats(): { subscribers: number; maxBufferedBytes: number } {
    let subscribers = 0;
    let maxBufferedBytes = 0;
    for (const res of this.#all()) {
      subscribers++;
      const held = (this.#backlogs.get(res)?.bytes ?? 0) + res.writableLength;
      maxBufferedBytes = Math.max(maxBufferedBytes, held);
    }
    return { subscribers, maxBufferedBytes };
  }

  /** Starts streaming a run to `res` from the seq after `after`. */
  subscribeRun(runId: string, res: ServerResponse, after: number): void {
    const firstSeq = this.#store.firstSeq(runId);
    if (after + 1 < firstSeq) {
      // Retention removed events the client asked for: say where the log now starts.
      res.write(formatSse(JSON.stringify({ firstSeq }), undefined, SSE_TRUNCATED_EVENT));
      after = firstSeq - 1;
    }
    const subscriber: RunSubscriber = { res, cursor: after, live: false };
    let set = this.#runSubscribers.get(runId);
    if (!set) this.#runSubscribers.set(runId, (set = new Set()));
    set.add(subscriber);
    res.on('close', () => {
      this.#backlogs.delete(res);
      set.delete(subscriber);
      if (set.size === 0 && this.#runSubscribers.get(runId) === set) {
        this.#runSubscribers.delete(runId);
        this.#fannedOutAt.delete(runId);
      }
    });
    this.#replay(runId, subscriber);
  }

  subscribeList(res: ServerResponse): void {
    this.#listSubscribers.add(res);
    res.on('close', () => {
      this.#backlogs.delete(res);
      this.#listSubscribers.delete(res);
    });
  }

  /** Any other long-lived stream (the control channel) that should get heartbeats and be closed. */
  track(res: ServerResponse): void {
    this.#others.add(res);
    res.on('close', () => {
      this.#backlogs.delete(res);
      this.#others.delete(res);
    });
  }

  closeAll(): void {
    clearInterval(this.#heartbeat);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    for (const outgoing of this.#outgoing.values()) clearTimeout(outgoing.timer);
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
      const { seqs, lines, through } = this.#store.readLines(
        runId,
        subscriber.cursor,
        REPLAY_BATCH,
        REPLAY_BATCH_BYTES,
      );
      let chunk = '';
      for (let i = 0; i < lines.length; i++) chunk += formatSse(lines[i]!, seqs[i]);
      // Seqs with no readable record are passed over, not waited for.
      subscriber.cursor = through;
      if (chunk === '') continue;
      // One batch at a time: the next is read once this one is in the socket.
      this.#send(res, chunk, Buffer.byteLength(chunk), false);
      const backlog = this.#backlogs.get(res);
      if (backlog) {
        backlog.onFlushed = () => this.#replay(runId, subscriber);
        return;
      }
    }
  }

  /**
   * Queues a written record. The records of one turn go out together, one write per subscriber,
   * and so do those of the next FANOUT_SPACING_MS_PER_SUBSCRIBER × subscribers after a fan-out.
   */
  onEvent(run: Run, event: AgentEvent, line: string): void {
    const runId = run.id;
    const { seq } = event;
    const set = this.#runSubscribers.get(runId);
    if (!set) return;
    let outgoing = this.#outgoing.get(runId);
    if (!outgoing) {
      this.#outgoing.set(runId, (outgoing = { firstSeq: seq, frames: [] }));
      const due =
        (this.#fannedOutAt.get(runId) ?? -Infinity) + set.size * FANOUT_SPACING_MS_PER_SUBSCRIBER;
      const wait = due - performance.now();
      if (wait <= 0) queueMicrotask(() => this.#fanOut(runId));
      else outgoing.timer = setTimeout(() => this.#fanOut(runId), wait);
    }
    outgoing.frames.push(formatSse(line, seq));
  }

  #fanOut(runId: string): void {
    const outgoing = this.#outgoing.get(runId);
    this.#outgoing.delete(runId);
    const set = this.#runSubscribers.get(runId);
    if (!outgoing || !set) return;
    this.#fannedOutAt.set(runId, performance.now());
    const { firstSeq, frames } = outgoing;
    const lastSeq = firstSeq + frames.length - 1;
    let chunk: string | undefined;
    let bytes = 0;
    for (const subscriber of set) {
      if (!subscriber.live || subscriber.cursor >= lastSeq) continue;
      // A subscriber that caught up since these records were written already has the first ones.
      if (subscriber.cursor >= firstSeq) {
        const rest = frames.slice(subscriber.cursor - firstSeq + 1).join('');
        this.#send(subscriber.res, rest, Buffer.byteLength(rest));
      } else {
        if (chunk === undefined) {
          chunk = frames.join('');
          bytes = Buffer.byteLength(chunk);
        }
        this.#send(subscriber.res, chunk, bytes);
      }
      subscriber.cursor = lastSeq;
    }
  }

  /**
   * Hands a frame to Node only while its socket takes it, and never more than FLUSH_BYTES at once;
   * the rest waits in the response's backlog. A subscriber whose backlog passes the bound is cut
   * off (it resumes by id).
   */
  #send(res: ServerResponse, frame: string, bytes: number, bounded = true): void {
    if (res.destroyed) return;
    let backlog = this.#backlogs.get(res);
    if (!backlog && bytes <= FLUSH_BYTES) {
      if (res.write(frame)) return;
      this.#backlogs.set(res, { frames: [], head: 0, offset: 0, bytes: 0 });
      res.once('drain', () => this.#flush(res));
      return;
    }
    const waiting = backlog !== undefined;
    if (!backlog) this.#backlogs.set(res, (backlog = { frames: [], head: 0, offset: 0, bytes: 0 }));
    backlog.bytes += bytes;
    if (bounded && backlog.bytes + res.writableLength > MAX_SUBSCRIBER_BACKLOG_BYTES) {
      this.#backlogs.delete(res);
      res.destroy();
      return;
    }
    backlog.frames.push(frame);
    if (!waiting) this.#flush(res);
  }

  /** Hands held frames to Node a slice at a time until its socket stops taking them. */
  #flush(res: ServerResponse): void {
    const backlog = this.#backlogs.get(res);
    if (!backlog || res.destroyed) return;
    const { frames } = backlog;
    for (;;) {
      let chunk = '';
      while (backlog.head < frames.length && chunk.length < FLUSH_BYTES) {
        const frame = frames[backlog.head]!;
        let end = Math.min(frame.length, backlog.offset + FLUSH_BYTES - chunk.length);
        // Never split a surrogate pair: each half alone would be encoded as U+FFFD.
        if (end < frame.length && isHighSurrogate(frame.charCodeAt(end - 1))) end--;
        if (end <= backlog.offset) break;
        chunk +=
          backlog.offset === 0 && end === frame.length ? frame : frame.slice(backlog.offset, end);
        if (end === frame.length) {
          frames[backlog.head++] = '';
          backlog.offset = 0;
        } else backlog.offset = end;
      }
      if (backlog.head === frames.length) {
        frames.length = 0;
        backlog.head = 0;
      }
      backlog.bytes = Math.max(0, backlog.bytes - Buffer.byteLength(chunk));
      if (chunk !== '' && !res.write(chunk)) {
        res.once('drain', () => this.#flush(res));
        return;
      }
      if (frames.length === 0) {
        this.#backlogs.delete(res);
        backlog.onFlushed?.();
        return;
      }
    }
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
    clearTimeout(this.#outgoing.get(id)?.timer);
    this.#outgoing.delete(id);
    this.#fannedOutAt.delete(id);
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
    const bytes = Buffer.byteLength(frame);
    for (const res of this.#listSubscribers) this.#send(res, frame, bytes);
  }

  #beat(): void {
    for (const res of this.#all()) this.#send(res, SSE_HEARTBEAT, HEARTBEAT_BYTES);
  }
}
