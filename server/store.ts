// The store: runs in memory (persisted in runs.jsonl), each run's events in its own append-only
// segment files. Writes are synchronous write(2) calls, so an event is acknowledged only once the
// OS has it; fsync follows the --fsync mode.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_ATTEMPTS, FSYNC_INTERVAL_MS } from '../shared/constants.ts';
import {
  GoneError,
  NotFoundError,
  UnavailableError,
  type AgentOpsError,
  ValidationError,
} from '../shared/errors.ts';
import { newRunId } from '../shared/new-run-id.ts';
import { applyEventToRun } from '../shared/run-effects.ts';
import type {
  AgentEvent,
  EventInput,
  FsyncMode,
  Health,
  Run,
  RunControl,
  RunInput,
  RunLease,
  RunPatch,
} from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
import { eventRecord } from './event-record.ts';
import { queryEvents, type EventQuery } from './query-events.ts';
import { serverEventId, seqOfServerEventId } from './server-event-id.ts';
import {
  NO_RECORD,
  extractId,
  isJson,
  listSegments,
  loadRunIndex,
  readBytes,
  readRecordLines,
  scanRecords,
  segmentPath,
  truncateFile,
  type LoadedIndex,
  type RecordLines,
  type RunIndex,
  type ScanResult,
} from './event-files.ts';
import { hashId, type IdIndex } from './id-index.ts';
import { RecordOffsets } from './record-offsets.ts';
import { markCleanStop, takeCleanStop } from './clean-stop.ts';
import { RunLog, type LogRecord, type RunRecord } from './run-log.ts';
import { writeAll } from './write-all.ts';

/** A segment is closed and a new one begun once it passes this size. */
export const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
/** Counters of busy runs are checkpointed into runs.jsonl this often. */
export const CHECKPOINT_MS = 1000;
/** Retention is enforced off the write path, this often. */
export const RETENTION_CHECK_MS = 1000;
/**
 * At most this many segment files are held open for appending (least recently written first to
 * close), so any number of runs works under a default `ulimit -n`.
 */
export const MAX_OPEN_SEGMENTS = 64;
/**
 * At most this many runs keep their offsets and id set in memory (least recently used dropped)…
 * A small run's index loads in a fraction of a millisecond, and every index kept a while longer
 * is one more object the garbage collector moves to the old generation when 100,000 runs are read
 * one after the other; runs open for appending are kept regardless.
 */
export const MAX_LOADED_INDEXES = 100;
/**
 * …holding at most about this many bytes: 4 a record for its offset, and 8–16 for its producer
 * id's hash once the run is written to (a run loaded for a read holds no ids).
 */
export const MAX_LOADED_BYTES = 16 * 1024 * 1024;
/** At most this many released segment files wait for their fsync at once (see #release). */
const MAX_CLOSING_SEGMENTS = 64;
/** Errors of a resource that runs out for a while rather than of the data: answered 503. */
const EXHAUSTED = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOSPC', 'EDQUOT']);
/** The run index is compacted once it holds this many records more than a few per run. */
const COMPACT_SLACK_RECORDS = 10_000;
/** Records per run the index may hold while the server runs; at a clean stop, one. */
const STALE_RECORDS_PER_RUN = 4;

export interface StoreOptions {
  fsync: FsyncMode;
  /** Keep at most this many events in all; whole old segments are dropped. */
  retentionMax?: number;
  warn(message: string): void;
}

/** Told of every change after it is written; the app wires who listens (create-app.ts). */
export interface StoreListener {
  /** A record was written; `line` is its JSON. */
  onEvent?(run: Run, event: AgentEvent, line: string): void;
  /** A run changed; `immediate` unless only its counters moved. */
  onRunChange?(run: Run, immediate: boolean): void;
  onRunDeleted?(id: string): void;
}

/**
 * One input's outcome: stored now (`created`), already stored under its id, or refused. `record` is
 * the stored line's bytes (without its newline) for an event written now, so answers reuse them
 * instead of serializing and encoding the event again.
 */
export type AppendResult =
  { created: boolean; event: AgentEvent; record?: Buffer } | { refused: AgentOpsError };

interface PendingAppend {
  inputs: Array<EventInput | ValidationError>;
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

interface RunState {
  run: Run;
  firstSeq: number;
  active: number;
  /** Bytes of the active segment written. */
  activeBytes: number;
  bytes: number;
  /** Counters moved since the last checkpoint. */
  dirty: boolean;
  /** Written but not yet fsynced. */
  unsynced: boolean;
  /**
   * The active segment does not end where `activeBytes` says (found when the index was loaded):
   * the next write begins a new segment rather than land at an offset the index does not expect.
   */
  rollBeforeWrite: boolean;
}

function now(): string {
  return new Date().toISOString();
}

function dirName(id: string): string {
  return createHash('sha1').update(id).digest('hex');
}

export class Store {
  readonly dataDir: string;
  #listeners: StoreListener[] = [];
  #runs: Map<string, RunState>;
  /**
   * The runs in creation order, kept for newest-first walks (every list and search) so that they
   * do not copy 100,000 entries each; made again after a delete.
   */
  #inOrder: RunState[] | undefined;
  #log: RunLog;
  #options: StoreOptions;
  #timers: NodeJS.Timeout[] = [];
  #syncWaiters: Array<() => void> = [];
  #queue = new Map<string, PendingAppend[]>();
  #syncing = false;
  /** Kinds of write failing now, with the reason; /health is degraded while any is. */
  #failing = new Map<WriteKind, string>();
  /**
   * Runs with an open segment file, least recently written first, and the file. Open files and
   * loaded indexes are kept here rather than on each run, which would cost every one of 100,000
   * runs two more fields.
   */
  #open = new Map<RunState, number>();
  /** Files of segments released by #release whose fsync has not finished. */
  #closing = new Set<number>();
  /** Runs with a loaded index, least recently used first, the index and the bytes it holds. */
  #loaded = new Map<RunState, { index: RunIndex; bytes: number }>();
  #loadedBytes = 0;
  /** Ids of deleted runs (their tombstones in runs.jsonl): events to them are refused as gone. */
  #deleted = new Set<string>();
  /** Damaged records skipped (by file and offset), each logged once. */
  #skipped = new Set<string>();
  /** Seqs with no readable record, per run, found when its index was loaded. */
  #missing = new Map<string, number>();

  constructor(dataDir: string, options: StoreOptions) {
    this.dataDir = dataDir;
    this.#options = options;
    mkdirSync(join(dataDir, 'events'), { recursive: true });
    const { runs, deleted, lines, damaged } = RunLog.read(dataDir, options.warn, stateOf);
    this.#runs = runs;
    this.#deleted = deleted;
    for (const offset of damaged) this.#skip(join(dataDir, 'runs.jsonl'), offset);
    this.#log = new RunLog(dataDir, lines);
    // After a clean stop every snapshot covers its run's files (see clean-stop.ts); a run whose
    // files changed while the server was stopped is found out when its index is loaded.
    if (!takeCleanStop(dataDir, this.#log.size)) {
      for (const state of runs.values()) this.#recover(state);
    }
    this.#compact();
    this.#timers.push(setInterval(() => this.checkpoint(), CHECKPOINT_MS).unref());
    if (options.fsync === 'batch') {
      this.#timers.push(setInterval(() => this.#syncAll(() => {}), FSYNC_INTERVAL_MS).unref());
    }
    if (options.retentionMax !== undefined) {
      this.#timers.push(setInterval(() => this.enforceRetention(), RETENTION_CHECK_MS).unref());
    }
  }

  /** Brings a run's snapshot up to date with whatever its active segment holds beyond it. */
  #recover(state: RunState): void {
    const path = segmentPath(this.#dir(state), state.active);
    const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    if (size < state.activeBytes) {
      this.#lostBytes(state, path, size);
      this.#roll(state);
    } else if (size > state.activeBytes && this.#recoverTail(state, path, size).tornBytes > 0) {
      // What a crash cut short is only ever the last line; start-up may cut it off.
      const end = state.activeBytes;
      this.#options.warn(`cut ${size - end} bytes of a torn record off ${path}`);
      truncateFile(path, end);
    }
  }

  /** The segment lost bytes its snapshot counted: what is left is kept and read as usual. */
  #lostBytes(state: RunState, path: string, size: number): void {
    this.#options.warn(
      `${path} holds ${size} bytes, fewer than the ${state.activeBytes} recorded; run ${JSON.stringify(state.run.id)} continues in a new segment`,
    );
  }

  /**
   * Applies the records of the active segment past `activeBytes` (written after the run's last
   * snapshot) to the run, as they were when they were written.
   */
  #recoverTail(state: RunState, path: string, size: number): ScanResult {
    const covered = state.activeBytes;
    const tail = readBytes(path, covered, size - covered);
    const scan = scanRecords(tail, covered, state.run.lastSeq, true);
    const time = Date.now();
    for (const line of scan.lines) {
      const event = JSON.parse(line) as AgentEvent;
      // A producer's clock may run ahead; the run's activity is never dated in the future.
      const at = Date.parse(event.ts) < time ? event.ts : new Date(time).toISOString();
      applyEventToRun(state.run, event, at);
    }
    for (const offset of scan.damaged) this.#skip(path, offset);
    state.bytes += scan.end - covered;
    state.activeBytes = scan.end;
    if (scan.lines.length > 0) state.dirty = true;
    return scan;
  }

  /**
   * A freshly loaded index against the snapshot of a run trusted at start-up: a run whose active
   * segment is not what its snapshot says (changed while the server was stopped, or a crash the
   * clean stop's record outlived) is put right as start-up would have, except that a read never
   * cuts a file: its next write begins a new segment instead.
   */
  #reconcile(state: RunState, loaded: LoadedIndex): void {
    // Found before (the index was dropped and read again since): the next write starts afresh.
    if (state.rollBeforeWrite) return;
    const segment = loaded.segments.find((s) => s.firstSeq === state.active);
    const last = segment !== undefined && segment === loaded.segments.at(-1);
    const size = segment ? segment.bytes + (last ? loaded.tornBytes : 0) : 0;
    if (size === state.activeBytes) return;
    const path = segmentPath(this.#dir(state), state.active);
    if (size < state.activeBytes) this.#lostBytes(state, path, size);
    else {
      const { tornBytes } = this.#recoverTail(state, path, size);
      if (tornBytes === 0) return;
      this.#options.warn(
        `${path} ends in ${tornBytes} bytes of a torn record, left as they are; run ${JSON.stringify(state.run.id)} continues in a new segment`,
      );
    }
    state.rollBeforeWrite = true;
  }

  #dir(state: RunState): string {
    return join(this.dataDir, 'events', dirName(state.run.id));
  }

  listen(listener: StoreListener): void {
    this.#listeners.push(listener);
  }

  #runChanged(run: Run, immediate: boolean): void {
    for (const listener of this.#listeners) listener.onRunChange?.(run, immediate);
  }

  /** Logs a record skipped as damaged, once, and counts it for /health. */
  #skip(path: string, offset: number): void {
    const key = `${path}@${offset}`;
    if (this.#skipped.has(key)) return;
    this.#skipped.add(key);
    this.#options.warn(`skipped a damaged record in ${path} at byte ${offset}`);
  }

  get degraded(): string | undefined {
    return this.#failing.values().next().value;
  }

  stats(): Health['store'] {
    let events = 0;
    let bytes = 0;
    for (const state of this.#runs.values()) {
      events += state.run.lastSeq - state.firstSeq + 1;
      bytes += state.bytes;
    }
    let missingEvents = 0;
    for (const count of this.#missing.values()) missingEvents += count;
    return {
      runs: this.#runs.size,
      events,
      bytes,
      skippedRecords: this.#skipped.size,
      missingEvents,
    };
  }

  getRun(id: string): Run | undefined {
    return this.#runs.get(id)?.run;
  }

  /** Runs newest first. */
  *runsNewestFirst(): Generator<Run> {
    const states = (this.#inOrder ??= [...this.#runs.values()]);
    for (let i = states.length - 1; i >= 0; i--) yield states[i]!.run;
  }

  createRun(input: RunInput): { run: Run; created: boolean } {
    const id = input.id ?? newRunId();
    const existing = this.#runs.get(id);
    if (existing) return { run: existing.run, created: false };
    const state = this.#newState(id, input);
    this.#write('run index', () => this.#log.append(toRecord(state)));
    this.#deleted.delete(id);
    this.#register(state);
    return { run: state.run, created: true };
  }

  /** A run not yet recorded anywhere; what a crash left of an earlier run of that id is cleared. */
  #newState(id: string, input: RunInput): RunState {
    const time = now();
    const run: Run = {
      id,
      title: input.title ?? id,
      status: input.status ?? 'running',
      startedAt: time,
      updatedAt: time,
      metadata: input.metadata ?? {},
      eventCount: 0,
      toolCallCount: 0,
      errorCount: 0,
      lastSeq: 0,
    };
    if (isTerminal(run.status)) run.endedAt = time;
    if (input.lease !== undefined) run.lease = leaseFrom(input.lease, Date.now());
    if (input.task !== undefined) {
      run.task = input.task;
      run.input = input.input ?? {};
      run.queuedAt = time;
      run.attempt = 0;
      run.maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    }
    rmSync(join(this.dataDir, 'events', dirName(id)), { recursive: true, force: true });
    return {
      run,
      firstSeq: 1,
      active: 1,
      activeBytes: 0,
      bytes: 0,
      dirty: false,
      unsynced: false,
      rollBeforeWrite: false,
    };
  }

  #register(state: RunState): void {
    this.#runs.set(state.run.id, state);
    this.#inOrder?.push(state);
    this.#runChanged(state.run, true);
  }

  patchRun(id: string, patch: RunPatch): Run {
    const state = this.#state(id);
    const { run } = state;
    const next: Run = { ...run, metadata: { ...run.metadata }, updatedAt: now() };
    if (patch.title !== undefined) next.title = patch.title;
    if (patch.status !== undefined && patch.status !== run.status) {
      next.status = patch.status;
      if (isTerminal(patch.status)) next.endedAt = next.updatedAt;
      else delete next.endedAt;
    }
    if (patch.errorMessage === null) delete next.errorMessage;
    else if (patch.errorMessage !== undefined) next.errorMessage = patch.errorMessage;
    // Merged key by key; a key set to null is removed (JSON merge patch).
    for (const [key, value] of Object.entries(patch.metadata ?? {})) {
      if (value === null) delete next.metadata[key];
      else next.metadata[key] = value;
    }
    this.#write('run index', () => this.#log.append(toRecord({ ...state, run: next })));
    state.run = next;
    state.dirty = false;
    this.#runChanged(next, true);
    return next;
  }

  /**
   * Replaces a run with `change(run)` and writes it to the run index before returning, so a queue
   * claim or requeue is on disk before anyone is told of it.
   */
  updateRun(id: string, change: (run: Run) => Run): Run {
    const state = this.#state(id);
    const next = { ...change(state.run), updatedAt: now() };
    this.#write('run index', () => this.#log.append(toRecord({ ...state, run: next })));
    state.run = next;
    state.dirty = false;
    this.#runChanged(next, true);
    return next;
  }

  /** Control state is live-only: kept in memory and in checkpoints, never a reason to write. */
  setControl(id: string, control: RunControl): Run {
    const state = this.#state(id);
    state.run = { ...state.run, control, updatedAt: now() };
    state.dirty = true;
    this.#runChanged(state.run, true);
    return state.run;
  }

  deleteRun(id: string): void {
    const state = this.#state(id);
    this.#write('run index', () => this.#log.append({ op: 'del', id }));
    this.#deleted.add(id);
    this.#closeSegment(state, false);
    this.#unload(state);
    this.#runs.delete(id);
    this.#inOrder = undefined;
    rmSync(this.#dir(state), { recursive: true, force: true });
    for (const listener of this.#listeners) listener.onRunDeleted?.(id);
  }

  /**
   * Appends events to a run (created when unknown). Appends that arrive in the same turn of the
   * event loop are written together, one write per run (group commit); the promise resolves once
   * the write is acknowledged by the --fsync mode. A producer id seen before is answered with the
   * stored event and stores nothing. A write the disk refuses rejects with an UnavailableError and
   * consumes no seq.
   */
  appendEvents(
    runId: string,
    inputs: Array<EventInput | ValidationError>,
  ): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      if (this.#queue.size === 0) setImmediate(() => this.#flush());
      let list = this.#queue.get(runId);
      if (!list) this.#queue.set(runId, (list = []));
      list.push({ inputs, resolve, reject });
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = new Map();
    const done: Array<() => void> = [];
    for (const [runId, list] of queue) {
      try {
        const results = this.#appendGroup(
          runId,
          list.map((item) => item.inputs),
        );
        list.forEach((item, i) => done.push(() => item.resolve(results[i]!)));
      } catch (error) {
        for (const item of list) item.reject(error);
      }
    }
    if (this.#options.fsync === 'always') this.#syncAll(() => done.forEach((resolve) => resolve()));
    else done.forEach((resolve) => resolve());
  }

  /** Appends the events of several requests to one run with one write; results per request. */
  #appendGroup(
    runId: string,
    requests: Array<Array<EventInput | ValidationError>>,
  ): AppendResult[][] {
    // An unknown run is created only by a request that brings at least one valid event.
    const anyValid = () =>
      requests.some((inputs) => inputs.some((input) => !(input instanceof ValidationError)));
    if (!this.#runs.has(runId) && !anyValid()) {
      return requests.map((inputs) =>
        inputs.map((input) => ({ refused: input as ValidationError })),
      );
    }
    // A run made by its first events is recorded only once they are written, so a refused write
    // leaves no empty run behind.
    const known = this.#runs.get(runId);
    if (!known && this.#deleted.has(runId)) {
      throw new GoneError(
        `run ${JSON.stringify(runId)} was deleted; its events are no longer stored (POST /api/runs with that id creates it anew)`,
      );
    }
    const state = known ?? this.#newState(runId, {});
    const creation = known ? undefined : toRecord(state);
    const index = this.#index(state);
    const time = now();
    const fresh: AgentEvent[] = [];
    const freshResults: Array<{ created: true; event: AgentEvent; record?: Buffer }> = [];
    const runIdJson = JSON.stringify(runId);
    const batchIds = new Map<string, AgentEvent>();
    // The group's records as one string (cheaper than joining lines), and where each line starts.
    let text = '';
    const starts: number[] = [];
    const toResult = (input: EventInput | ValidationError): AppendResult => {
      if (input instanceof ValidationError) return { refused: input };
      if (input.id !== undefined) {
        const earlier = batchIds.get(input.id);
        if (earlier) return { created: false, event: earlier };
        const seq = this.#seqOfId(state, index, input.id);
        // A stored record damaged since is written again: the retry brings its content back.
        const stored = seq === undefined ? undefined : this.#readEvent(state, seq);
        if (stored) return { created: false, event: stored };
      }
      const seq = state.run.lastSeq + fresh.length + 1;
      const id = input.id ?? serverEventId(seq);
      const event: AgentEvent = {
        id,
        seq,
        runId,
        ts: input.ts ?? time,
        type: input.type,
        level: input.level ?? 'info',
      } as AgentEvent;
      if (input.agentId !== undefined) event.agentId = input.agentId;
      if (input.taskId !== undefined) event.taskId = input.taskId;
      event.payload = input.payload ?? {};
      if (input.id !== undefined) batchIds.set(event.id, event);
      fresh.push(event);
      starts.push(text.length);
      // A server-made id is hex and dashes: it needs no escaping.
      text += eventRecord(event, runIdJson, input.id === undefined ? `"${id}"` : undefined) + '\n';
      const result = { created: true as const, event };
      freshResults.push(result);
      return result;
    };
    const results = requests.map((inputs) => inputs.map(toResult));
    if (fresh.length === 0) return results;

    const buffer = Buffer.from(text);
    const full = state.activeBytes > 0 && state.activeBytes + buffer.length > SEGMENT_MAX_BYTES;
    if (full || state.rollBeforeWrite) this.#roll(state);
    const before = state.activeBytes;
    this.#writeRecords(state, buffer, creation);

    const statusBefore = state.run.status;
    // As many bytes as characters: every character is ASCII, so string offsets are byte offsets.
    const byteStarts = buffer.length === text.length ? starts : undefined;
    this.#indexWritten(state, index, before, buffer, byteStarts, freshResults, batchIds, time);
    const lineOf = (i: number) => text.slice(starts[i]!, (starts[i + 1] ?? text.length) - 1);
    for (const listener of this.#listeners) {
      if (!listener.onEvent) continue;
      for (let i = 0; i < fresh.length; i++) listener.onEvent(state.run, fresh[i]!, lineOf(i));
    }
    this.#runChanged(state.run, state.run.status !== statusBefore);
    return results;
  }

  /**
   * Once a group's records are written: their offsets and producer ids in the run's index, their
   * bytes in the answers, their effects on the run.
   */
  #indexWritten(
    state: RunState,
    index: RunIndex,
    before: number,
    buffer: Buffer,
    byteStarts: number[] | undefined,
    written: Array<{ event: AgentEvent; record?: Buffer }>,
    producerIds: Map<string, AgentEvent>,
    time: string,
  ): void {
    const segment = index.segments[index.segments.length - 1]!;
    let start = 0;
    for (let i = 0; i < written.length; i++) {
      const result = written[i]!;
      const { event } = result;
      while (segment.offsets.length < event.seq - segment.firstSeq) segment.offsets.push(NO_RECORD);
      segment.offsets.push(before + start);
      const next = byteStarts
        ? (byteStarts[i + 1] ?? buffer.length)
        : buffer.indexOf(0x0a, start) + 1;
      result.record = buffer.subarray(start, next - 1);
      start = next;
      // Server-made ids are found through the seq they carry; only producers' ids are indexed.
      if (producerIds.size > 0 && producerIds.has(event.id)) {
        index.ids?.add(hashId(event.id), event.seq);
      }
      applyEventToRun(state.run, event, time);
    }
    segment.bytes = before + buffer.length;
    this.#account(state, index);
    state.activeBytes = segment.bytes;
    state.bytes += buffer.length;
    state.dirty = true;
    state.unsynced = true;
  }

  /**
   * Writes a group's records to the run's active segment, then (for a run made by these events)
   * its creation to the run index. A write the disk takes only part of is cut back; nothing of a
   * refused write is kept, not even the run it would have made.
   */
  #writeRecords(state: RunState, buffer: Buffer, creation: RunRecord | undefined): void {
    const before = state.activeBytes;
    try {
      this.#write('events', () => {
        const fd = this.#openActive(state);
        try {
          writeAll(fd, buffer);
        } catch (error) {
          try {
            ftruncateSync(fd, before);
          } catch {
            // What reached the file stays as a damaged line; the index is read afresh from it.
            this.#closeSegment(state, false);
            this.#unload(state);
          }
          throw error;
        }
      });
      if (creation) this.#write('run index', () => this.#log.append(creation));
    } catch (error) {
      if (creation) this.#discard(state);
      throw error;
    }
    if (creation) this.#register(state);
  }

  /** Resolves once everything written so far is fsynced, with --fsync always; at once otherwise. */
  durable(): Promise<void> {
    if (this.#options.fsync !== 'always') return Promise.resolve();
    return new Promise((resolve) => this.#syncAll(resolve));
  }

  /**
   * Raw record lines after `after`, covering at most `count` seqs and, past one record, at most
   * `maxBytes`, for SSE replay; `through` is the last seq covered. Records that are not valid JSON
   * (damaged bytes) are left out.
   */
  readLines(
    runId: string,
    after: number,
    count: number,
    maxBytes = Infinity,
  ): RecordLines & { through: number } {
    const state = this.#state(runId);
    const from = Math.max(after + 1, state.firstSeq);
    const n = Math.min(count, state.run.lastSeq - from + 1);
    if (n <= 0) return { seqs: [], lines: [], through: after };
    const records = this.#read(() => readRecordLines(this.#index(state), from, n, maxBytes));
    const seqs: number[] = [];
    const lines: string[] = [];
    records.lines.forEach((line, i) => {
      if (isJson(line)) {
        seqs.push(records.seqs[i]!);
        lines.push(line);
      } else this.#damagedRecord(state, records.seqs[i]!);
    });
    return { seqs, lines, through: records.through };
  }

  firstSeq(runId: string): number {
    return this.#state(runId).firstSeq;
  }

  readEvents(runId: string, query: EventQuery): AgentEvent[] {
    const state = this.#state(runId);
    return this.#read(() =>
      queryEvents(this.#index(state), state.firstSeq, state.run.lastSeq, query, (seq) =>
        this.#damagedRecord(state, seq),
      ),
    );
  }

  /** A record found unreadable by a read: skipped from now on, and reported once. */
  #damagedRecord(state: RunState, seq: number): void {
    for (const segment of this.#index(state).segments) {
      const i = seq - segment.firstSeq;
      if (i < 0 || i >= segment.offsets.length) continue;
      const offset = segment.offsets.at(i);
      if (offset === NO_RECORD) return;
      segment.offsets.set(i, NO_RECORD);
      this.#skip(segment.path, offset);
      return;
    }
  }

  /** Appends a snapshot of every run whose counters moved since the last one. */
  checkpoint(): void {
    const records: RunRecord[] = [];
    for (const state of this.#runs.values()) {
      if (!state.dirty) continue;
      state.dirty = false;
      records.push(toRecord(state));
    }
    try {
      this.#write('run index', () => this.#log.appendMany(records));
    } catch {
      // Marked failing by #write; the records are written with the next checkpoint.
      for (const record of records) {
        const state = this.#runs.get(record.run.id);
        if (state) state.dirty = true;
      }
    }
    this.#compact();
  }

  /**
   * Rewrites the run index with one record per run once it holds more than `perRun` records a run
   * (plus COMPACT_SLACK_RECORDS). A rewrite the disk refuses leaves the old index whole (see
   * RunLog.rewrite) and /health degraded; the next checkpoint tries again.
   */
  #compact(perRun = STALE_RECORDS_PER_RUN): void {
    const live = this.#runs.size + this.#deleted.size;
    if (this.#log.records <= perRun * live + COMPACT_SLACK_RECORDS) return;
    try {
      this.#write('compaction', () => this.#log.compact(this.#liveRecords()));
    } catch {
      // Marked failing by #write.
    }
  }

  /**
   * One record per run, and the tombstones, so a producer still posting to a deleted run is told
   * it is gone.
   */
  #liveRecords(): LogRecord[] {
    const tombstones = [...this.#deleted].map((id): LogRecord => ({ op: 'del', id }));
    return [...[...this.#runs.values()].map(toRecord), ...tombstones];
  }

  /** Drops whole segments, oldest runs first, until at most retentionMax events remain. */
  enforceRetention(): void {
    const max = this.#options.retentionMax;
    if (max === undefined) return;
    let excess = this.stats().events - max;
    for (const state of this.#runs.values()) {
      if (excess <= 0) break;
      const dir = this.#dir(state);
      const segments = listSegments(dir);
      for (let i = 0; i < segments.length && excess > 0; i++) {
        const firstSeq = segments[i]!;
        const nextFirst = segments[i + 1] ?? state.run.lastSeq + 1;
        const path = segmentPath(dir, firstSeq);
        const size = statSync(path).size;
        if (firstSeq === state.active) this.#closeSegment(state, false);
        rmSync(path, { force: true });
        excess -= nextFirst - Math.max(firstSeq, state.firstSeq);
        state.firstSeq = nextFirst;
        state.bytes -= size;
        if (firstSeq === state.active) {
          state.active = nextFirst;
          state.activeBytes = 0;
        }
        // The id set and offsets are rebuilt from what is left on the next touch.
        this.#unload(state);
        this.#write('run index', () => this.#log.append(toRecord(state)));
      }
    }
  }

  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.checkpoint();
    for (const state of [...this.#open.keys()]) this.#closeSegment(state, true);
    // Segments still being closed (#release) are fsynced here too; their callbacks close them.
    if (this.#options.fsync !== 'never') for (const fd of this.#closing) fsyncSync(fd);
    // The next start reads the index alone: one snapshot per run if it is worth a rewrite now.
    this.#compact(1);
    this.#log.sync();
    // Clean only if every snapshot was written and no kind of write is failing.
    const covered = ![...this.#runs.values()].some((state) => state.dirty);
    if (covered && this.#failing.size === 0) markCleanStop(this.dataDir, this.#log.size);
    this.#log.close();
  }

  #state(id: string): RunState {
    const state = this.#runs.get(id);
    if (!state) throw new NotFoundError(`run ${JSON.stringify(id)} not found`);
    return state;
  }

  #index(state: RunState): RunIndex {
    const known = this.#loaded.get(state);
    if (known) {
      // Most recently used last.
      this.#loaded.delete(state);
      this.#loaded.set(state, known);
      return known.index;
    }
    // A run whose first stored seq names its active segment has that one segment alone (a roll
    // or retention moves one of them), so its directory need not be listed.
    const only = state.active === state.firstSeq ? [state.active] : undefined;
    const loaded = this.#read(() => loadRunIndex(this.#dir(state), only, false));
    for (const { path, offset } of loaded.damaged) this.#skip(path, offset);
    this.#reconcile(state, loaded);
    const index: RunIndex = { segments: loaded.segments };
    this.#account(state, index);
    for (const [oldest] of this.#loaded) {
      if (this.#loaded.size <= MAX_LOADED_INDEXES && this.#loadedBytes <= MAX_LOADED_BYTES) break;
      // The run being loaded stays, and so do runs open for appending (at most
      // MAX_OPEN_SEGMENTS): dropping a writer's index would have its next write read it all again.
      if (oldest === state || this.#open.has(oldest)) continue;
      this.#unload(oldest);
    }
    this.#countMissing(state, index);
    return index;
  }

  /** The run's producer ids, read from its segments the first time a write needs them. */
  #ids(state: RunState, index: RunIndex): IdIndex {
    if (!index.ids) {
      const firstSeqs = index.segments.map((segment) => segment.firstSeq);
      index.ids = this.#read(() => loadRunIndex(this.#dir(state), firstSeqs, true)).ids!;
      this.#account(state, index);
    }
    return index.ids;
  }

  /**
   * Keeps the run's index as the most recently used, counting its memory (which grows as the run
   * is written) against the cap.
   */
  #account(state: RunState, index: RunIndex): void {
    let bytes = index.ids?.bytes ?? 0;
    for (const segment of index.segments) bytes += segment.offsets.bytes;
    this.#loadedBytes += bytes - (this.#loaded.get(state)?.bytes ?? 0);
    this.#loaded.delete(state);
    this.#loaded.set(state, { index, bytes });
  }

  /** Drops a run's id set and offsets; they are read again from its files on the next touch. */
  #unload(state: RunState): void {
    const known = this.#loaded.get(state);
    if (known === undefined) return;
    this.#loaded.delete(state);
    this.#loadedBytes -= known.bytes;
  }

  /** Runs a read; a resource that ran out (open files, memory) is a 503, not a 500. */
  #read<T>(action: () => T): T {
    try {
      return action();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === undefined || !EXHAUSTED.has(code)) throw error;
      throw new UnavailableError(`cannot read from ${this.dataDir}: ${exhaustedReason(error)}`);
    }
  }

  /** Seqs of the run with no record on disk (damage, or a segment file gone): logged, counted. */
  #countMissing(state: RunState, index: RunIndex): void {
    let present = 0;
    for (const segment of index.segments) {
      for (let i = 0; i < segment.offsets.length; i++) {
        const seq = segment.firstSeq + i;
        if (seq >= state.firstSeq && segment.offsets.at(i) !== NO_RECORD) present++;
      }
    }
    const missing = state.run.lastSeq - state.firstSeq + 1 - present;
    const id = state.run.id;
    if (missing <= 0 || this.#missing.get(id) === missing) return;
    this.#missing.set(id, missing);
    this.#options.warn(
      `run ${JSON.stringify(id)} is missing ${missing} of its ${state.run.lastSeq - state.firstSeq + 1} events (a segment file gone or damaged); the rest reads as usual`,
    );
  }

  /** The seq of the stored event whose id is `id`, if there is one. */
  #seqOfId(state: RunState, index: RunIndex, id: string): number | undefined {
    // The index holds hashes: a candidate is the one when its record has that id.
    for (const seq of this.#ids(state, index).candidates(hashId(id))) {
      if (seq < state.firstSeq) continue;
      const line = this.#read(() => readRecordLines(index, seq, 1)).lines[0];
      if (line !== undefined && extractId(line) === id) return seq;
    }
    return this.#seqOfServerId(state, id);
  }

  /** The seq of a stored event whose server-made id is `id`, if there is one. */
  #seqOfServerId(state: RunState, id: string): number | undefined {
    const seq = seqOfServerEventId(id);
    if (seq === undefined || seq < state.firstSeq || seq > state.run.lastSeq) return undefined;
    const line = this.#read(() => readRecordLines(this.#index(state), seq, 1)).lines[0];
    return line !== undefined && extractId(line) === id ? seq : undefined;
  }

  /** The stored event of `seq`, or undefined when its record is damaged. */
  #readEvent(state: RunState, seq: number): AgentEvent | undefined {
    const line = this.#read(() => readRecordLines(this.#index(state), seq, 1)).lines[0];
    try {
      return JSON.parse(line!) as AgentEvent;
    } catch {
      this.#damagedRecord(state, seq);
      return undefined;
    }
  }

  #openActive(state: RunState): number {
    const open = this.#open.get(state);
    if (open !== undefined) {
      this.#open.delete(state);
      this.#open.set(state, open);
      return open;
    }
    for (const [oldest] of this.#open) {
      if (this.#open.size < MAX_OPEN_SEGMENTS) break;
      this.#release(oldest);
    }
    const dir = this.#dir(state);
    const path = segmentPath(dir, state.active);
    // A run's directory is made by its first write; every other open finds it there.
    if (state.bytes === 0) mkdirSync(dir, { recursive: true });
    let fd: number;
    try {
      fd = openSync(path, 'a');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dir, { recursive: true });
      fd = openSync(path, 'a');
    }
    this.#open.set(state, fd);
    const index = this.#index(state);
    if (index.segments.at(-1)?.firstSeq !== state.active) {
      index.segments.push({ firstSeq: state.active, path, bytes: 0, offsets: new RecordOffsets() });
    }
    return fd;
  }

  /**
   * Closes a run's open segment file; with `sync`, what was written is fsynced first (unless
   * --fsync never), since the periodic sync only reaches open files.
   */
  #closeSegment(state: RunState, sync: boolean): void {
    const fd = this.#open.get(state);
    if (fd === undefined) return;
    try {
      if (sync && this.#options.fsync !== 'never') fsyncSync(fd);
    } finally {
      closeSync(fd);
      state.unsynced = false;
      this.#open.delete(state);
    }
  }

  /**
   * Closes the segment file of the run written least recently, to open another. With --fsync
   * batch nothing waits for its fsync (which the periodic sync no longer reaches once it is
   * closed), so it runs off the event loop, at most MAX_CLOSING_SEGMENTS at a time: a stream of
   * new runs then costs no fsync on the event loop each.
   */
  #release(state: RunState): void {
    if (this.#options.fsync !== 'batch' || this.#closing.size >= MAX_CLOSING_SEGMENTS) {
      this.#closeSegment(state, true);
      return;
    }
    const fd = this.#open.get(state)!;
    state.unsynced = false;
    this.#open.delete(state);
    this.#closing.add(fd);
    fsync(fd, (error) => {
      if (error) this.#failing.set('fsync', `cannot fsync in ${this.dataDir}: ${error.message}`);
      this.#closing.delete(fd);
      closeSync(fd);
    });
  }

  /** Forgets a run that was never recorded, and whatever of it reached the disk. */
  #discard(state: RunState): void {
    this.#closeSegment(state, false);
    this.#unload(state);
    rmSync(this.#dir(state), { recursive: true, force: true });
  }

  /** Closes the active segment; the next write opens one named by the next seq. */
  #roll(state: RunState): void {
    this.#closeSegment(state, true);
    state.active = state.run.lastSeq + 1;
    state.activeBytes = 0;
    state.rollBeforeWrite = false;
    // Recorded before the first write into it, so recovery knows which file to read.
    this.#write('run index', () => this.#log.append(toRecord(state)));
  }

  /**
   * Runs a write of one kind; a failure marks that kind failing (the store is degraded until a
   * write of the same kind succeeds) and answers 503 without touching state.
   */
  #write(kind: WriteKind, action: () => void): void {
    try {
      action();
      this.#failing.delete(kind);
    } catch (error) {
      const reason = `cannot write the ${kind} to ${this.dataDir}: ${exhaustedReason(error)}`;
      this.#failing.set(kind, reason);
      throw new UnavailableError(reason);
    }
  }

  /** fsyncs every file written since the last sync; `done` runs after the sync that covers now. */
  #syncAll(done: () => void): void {
    this.#syncWaiters.push(done);
    if (this.#syncing) return;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    const fds: number[] = [];
    for (const [state, fd] of this.#open) {
      if (state.unsynced) fds.push(fd);
      state.unsynced = false;
    }
    this.#syncing = true;
    let pending = fds.length + 1;
    let failure: string | undefined;
    const finish = (error?: Error | null) => {
      // EBADF: the file was closed (and fsynced) meanwhile by #closeSegment.
      if (error && (error as NodeJS.ErrnoException).code !== 'EBADF') failure = error.message;
      if (--pending > 0) return;
      if (failure) this.#failing.set('fsync', `cannot fsync in ${this.dataDir}: ${failure}`);
      else this.#failing.delete('fsync');
      this.#syncing = false;
      for (const waiter of waiters) waiter();
      if (this.#syncWaiters.length > 0) this.#syncAll(() => {});
    };
    pending++;
    for (const fd of fds) fsync(fd, finish);
    this.#log.syncAsync(finish);
    finish();
  }
}

type WriteKind = 'events' | 'run index' | 'compaction' | 'fsync';

/** An error's message, with what to do about the resources an operator can raise. */
function exhaustedReason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EMFILE' || code === 'ENFILE')
    return `too many open files (${message}); raise the limit (ulimit -n) or retry`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the disk is full (${message})`;
  return message;
}

/** A run as its last snapshot left it. */
function stateOf(record: RunRecord): RunState {
  // No producer is attached to a run the server has just read.
  if (record.run.control) record.run.control.producerAttached = false;
  return {
    run: record.run,
    firstSeq: record.firstSeq,
    active: record.active,
    activeBytes: record.covered,
    bytes: record.bytes,
    dirty: false,
    unsynced: false,
    rollBeforeWrite: false,
  };
}

/** A lease of `seconds` that runs from `nowMs`. */
export function leaseFrom(seconds: number, nowMs: number): RunLease {
  return { seconds, expiresAt: new Date(nowMs + seconds * 1000).toISOString() };
}

function toRecord(
  state: Pick<RunState, 'run' | 'firstSeq' | 'active' | 'activeBytes' | 'bytes'>,
): RunRecord {
  return {
    op: 'put',
    run: state.run,
    firstSeq: state.firstSeq,
    active: state.active,
    covered: state.activeBytes,
    bytes: state.bytes,
  };
}
