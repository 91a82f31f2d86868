// The store: runs in memory (persisted in runs.jsonl), each run's events in its own append-only
// segment files. Writes are synchronous write(2) calls, so an event is acknowledged only once the
// OS has it; fsync follows the --fsync mode.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
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
  type RecordLines,
  type RunIndex,
} from './event-files.ts';
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
/** At most this many runs keep their id set and offsets in memory (least recently used dropped)… */
export const MAX_LOADED_INDEXES = 1000;
/** …and at most about this many records across them. */
export const MAX_LOADED_RECORDS = 2_000_000;
/** Errors of a resource that runs out for a while rather than of the data: answered 503. */
const EXHAUSTED = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOSPC', 'EDQUOT']);
/** NDJSON export reads this many records at a time. */
const EXPORT_PAGE_RECORDS = 1000;

/** The run index is compacted once it holds this many records more than 4 per run. */
const COMPACT_SLACK_RECORDS = 10_000;

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
  dir: string;
  firstSeq: number;
  active: number;
  /** Bytes of the active segment written. */
  activeBytes: number;
  bytes: number;
  index?: RunIndex;
  fd?: number;
  /** Counters moved since the last checkpoint. */
  dirty: boolean;
  /** Written but not yet fsynced. */
  unsynced: boolean;
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
  #runs = new Map<string, RunState>();
  #log: RunLog;
  #options: StoreOptions;
  #timers: NodeJS.Timeout[] = [];
  #syncWaiters: Array<() => void> = [];
  #queue = new Map<string, PendingAppend[]>();
  #syncing = false;
  /** Kinds of write failing now, with the reason; /health is degraded while any is. */
  #failing = new Map<WriteKind, string>();
  /** Runs with an open segment file, least recently written first. */
  #open = new Set<RunState>();
  /** Runs with a loaded index, least recently used first, and the records they hold. */
  #loaded = new Map<RunState, number>();
  #loadedRecords = 0;
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
    const { runs, deleted, lines, damaged } = RunLog.read(dataDir, options.warn);
    this.#deleted = deleted;
    for (const offset of damaged) this.#skip(join(dataDir, 'runs.jsonl'), offset);
    this.#log = new RunLog(dataDir, lines);
    for (const record of runs.values()) this.#runs.set(record.run.id, this.#recover(record));
    this.#compact();
    this.#timers.push(setInterval(() => this.checkpoint(), CHECKPOINT_MS).unref());
    if (options.fsync === 'batch') {
      this.#timers.push(setInterval(() => this.#syncAll(() => {}), FSYNC_INTERVAL_MS).unref());
    }
    if (options.retentionMax !== undefined) {
      this.#timers.push(setInterval(() => this.enforceRetention(), RETENTION_CHECK_MS).unref());
    }
  }

  /** Rebuilds a run from its last snapshot plus whatever its active segment holds beyond it. */
  #recover(record: RunRecord): RunState {
    if (record.run.control) record.run.control.producerAttached = false;
    const state: RunState = {
      run: record.run,
      dir: join(this.dataDir, 'events', dirName(record.run.id)),
      firstSeq: record.firstSeq,
      active: record.active,
      activeBytes: record.covered,
      bytes: record.bytes,
      dirty: false,
      unsynced: false,
    };
    const path = segmentPath(state.dir, state.active);
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size < record.covered) {
      // The segment lost bytes its snapshot counted: keep what is left and write on in a new one.
      this.#options.warn(
        `${path} holds ${size} bytes, fewer than the ${record.covered} recorded; run ${JSON.stringify(record.run.id)} continues in a new segment`,
      );
      this.#roll(state);
      return state;
    }
    if (size === record.covered) return state;
    const tail = readBytes(path, record.covered, size - record.covered);
    const scan = scanRecords(tail, record.covered, state.run.lastSeq, true);
    const time = Date.now();
    for (const line of scan.lines) {
      const event = JSON.parse(line) as AgentEvent;
      // A producer's clock may run ahead; the run's activity is never dated in the future.
      const at = Date.parse(event.ts) < time ? event.ts : new Date(time).toISOString();
      applyEventToRun(state.run, event, at);
    }
    for (const offset of scan.damaged) this.#skip(path, offset);
    if (scan.tornBytes > 0) {
      this.#options.warn(`cut ${scan.tornBytes} bytes of a torn record off ${path}`);
      truncateFile(path, scan.end);
    }
    state.bytes += scan.end - record.covered;
    state.activeBytes = scan.end;
    state.dirty = scan.lines.length > 0;
    return state;
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
    const states = [...this.#runs.values()];
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
    const dir = join(this.dataDir, 'events', dirName(id));
    rmSync(dir, { recursive: true, force: true });
    return {
      run,
      dir,
      firstSeq: 1,
      active: 1,
      activeBytes: 0,
      bytes: 0,
      dirty: false,
      unsynced: false,
    };
  }

  #register(state: RunState): void {
    this.#runs.set(state.run.id, state);
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
    rmSync(state.dir, { recursive: true, force: true });
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
        const seq = index.ids.get(input.id) ?? this.#seqOfServerId(state, input.id);
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
    if (state.activeBytes > 0 && state.activeBytes + buffer.length > SEGMENT_MAX_BYTES)
      this.#roll(state);
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
      if (producerIds.size > 0 && producerIds.has(event.id)) index.ids.set(event.id, event.seq);
      applyEventToRun(state.run, event, time);
    }
    segment.bytes = before + buffer.length;
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
      const offset = segment.offsets[i]!;
      if (offset === NO_RECORD) return;
      segment.offsets[i] = NO_RECORD;
      this.#skip(segment.path, offset);
      return;
    }
  }

  /**
   * The run's records up to its last seq now, as NDJSON pages of whole lines; for export. A record
   * that is not valid JSON is left out and reported, as every other read does.
   */
  *exportPages(runId: string): Generator<string> {
    const state = this.#state(runId);
    const last = state.run.lastSeq;
    for (let from = state.firstSeq; from <= last; from += EXPORT_PAGE_RECORDS) {
      const count = Math.min(EXPORT_PAGE_RECORDS, last - from + 1);
      const records = this.#read(() => readRecordLines(this.#index(state), from, count));
      let page = '';
      records.lines.forEach((line, i) => {
        if (isJson(line)) page += line + '\n';
        else this.#damagedRecord(state, records.seqs[i]!);
      });
      if (page !== '') yield page;
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
   * Compacts a stale index. A rewrite the disk refuses leaves the old index whole (see
   * RunLog.rewrite) and /health degraded; the next checkpoint tries again.
   */
  #compact(): void {
    try {
      this.#write('compaction', () => this.#compactIfStale());
    } catch {
      // Marked failing by #write.
    }
  }

  /** Once the run index is mostly superseded snapshots, rewrite it with one per run. */
  #compactIfStale(): void {
    if (this.#log.records <= 4 * this.#runs.size + COMPACT_SLACK_RECORDS) return;
    // Tombstones are kept, so a producer still posting to a deleted run is told it is gone.
    const tombstones = [...this.#deleted].map((id): LogRecord => ({ op: 'del', id }));
    this.#log.compact([...[...this.#runs.values()].map(toRecord), ...tombstones]);
  }

  /** Drops whole segments, oldest runs first, until at most retentionMax events remain. */
  enforceRetention(): void {
    const max = this.#options.retentionMax;
    if (max === undefined) return;
    let excess = this.stats().events - max;
    for (const state of this.#runs.values()) {
      if (excess <= 0) break;
      const segments = listSegments(state.dir);
      for (let i = 0; i < segments.length && excess > 0; i++) {
        const firstSeq = segments[i]!;
        const nextFirst = segments[i + 1] ?? state.run.lastSeq + 1;
        const path = segmentPath(state.dir, firstSeq);
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
    for (const state of [...this.#open]) this.#closeSegment(state, true);
    this.#log.sync();
    this.#log.close();
  }

  #state(id: string): RunState {
    const state = this.#runs.get(id);
    if (!state) throw new NotFoundError(`run ${JSON.stringify(id)} not found`);
    return state;
  }

  #index(state: RunState): RunIndex {
    if (state.index) {
      // Most recently used last.
      const records = this.#loaded.get(state)!;
      this.#loaded.delete(state);
      this.#loaded.set(state, records);
      return state.index;
    }
    const { segments, ids, damaged } = this.#read(() => loadRunIndex(state.dir));
    for (const { path, offset } of damaged) this.#skip(path, offset);
    state.index = { segments, ids };
    let records = 0;
    for (const segment of segments) records += segment.offsets.length;
    this.#loaded.set(state, records);
    this.#loadedRecords += records;
    for (const [oldest] of this.#loaded) {
      if (this.#loaded.size <= MAX_LOADED_INDEXES && this.#loadedRecords <= MAX_LOADED_RECORDS)
        break;
      if (oldest === state) break;
      this.#unload(oldest);
    }
    this.#countMissing(state);
    return state.index;
  }

  /** Drops a run's id set and offsets; they are read again from its files on the next touch. */
  #unload(state: RunState): void {
    const records = this.#loaded.get(state);
    if (records === undefined) return;
    this.#loaded.delete(state);
    this.#loadedRecords -= records;
    state.index = undefined;
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
  #countMissing(state: RunState): void {
    let present = 0;
    for (const segment of state.index!.segments) {
      for (let i = 0; i < segment.offsets.length; i++) {
        const seq = segment.firstSeq + i;
        if (seq >= state.firstSeq && segment.offsets[i] !== NO_RECORD) present++;
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
    if (state.fd !== undefined) {
      this.#open.delete(state);
      this.#open.add(state);
      return state.fd;
    }
    for (const oldest of this.#open) {
      if (this.#open.size < MAX_OPEN_SEGMENTS) break;
      this.#closeSegment(oldest, true);
    }
    mkdirSync(state.dir, { recursive: true });
    state.fd = openSync(segmentPath(state.dir, state.active), 'a');
    this.#open.add(state);
    const index = this.#index(state);
    if (index.segments.at(-1)?.firstSeq !== state.active) {
      index.segments.push({
        firstSeq: state.active,
        path: segmentPath(state.dir, state.active),
        bytes: 0,
        offsets: [],
      });
    }
    return state.fd;
  }

  /**
   * Closes a run's open segment file; with `sync`, what was written is fsynced first (unless
   * --fsync never), since the periodic sync only reaches open files.
   */
  #closeSegment(state: RunState, sync: boolean): void {
    if (state.fd === undefined) return;
    try {
      if (sync && this.#options.fsync !== 'never') fsyncSync(state.fd);
    } finally {
      closeSync(state.fd);
      state.fd = undefined;
      state.unsynced = false;
      this.#open.delete(state);
    }
  }

  /** Forgets a run that was never recorded, and whatever of it reached the disk. */
  #discard(state: RunState): void {
    this.#closeSegment(state, false);
    this.#unload(state);
    rmSync(state.dir, { recursive: true, force: true });
  }

  /** Closes the active segment; the next write opens one named by the next seq. */
  #roll(state: RunState): void {
    this.#closeSegment(state, true);
    state.active = state.run.lastSeq + 1;
    state.activeBytes = 0;
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
    for (const state of this.#open) {
      if (state.unsynced && state.fd !== undefined) fds.push(state.fd);
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
