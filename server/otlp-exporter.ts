// `serve --otlp-endpoint`: sends runs and their spans as OTLP/HTTP JSON to `<endpoint>/v1/traces`,
// with the Collector's delivery discipline. A store listener that only notes which runs moved, so
// ingest never waits for export: export lags instead, and /health says by how much. A span goes out
// once it ends, a run's root span once the run has ended. The store is the queue: the cursor
// (export-cursor.ts) says per run up to which seq a collector took the spans, so a collector that
// is down, or a restart, loses nothing. 429/502/503/504 and lost connections are retried (after
// Retry-After, else with backoff) for as long as it takes; any other refusal is logged, counted
// and skipped, never retried forever.
import { OTLP_TRACES_PATH } from '../shared/otlp.ts';
import { SpanTree } from '../shared/span-tree.ts';
import type { AgentEvent, OtlpExportConfig, OtlpHealth, Run } from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
import { encodeOtlpJson, type OutgoingSpan } from './encode-otlp-json.ts';
import { ExportCursor, type RunCursor } from './export-cursor.ts';
import { RunIds } from './otlp-ids.ts';
import { rootSpanOf, spanOf } from './otlp-spans-of-run.ts';
import { postOtlp } from './post-otlp.ts';
import type { Store, StoreListener } from './store.ts';

/** Spans per export request (the SDK's batch default is 512, the Collector's 8192). */
export const EXPORT_BATCH_SPANS = 1000;
/** Events read from a run per step while collecting a batch. */
const READ_PAGE_EVENTS = 1000;
/**
 * Events read per batch at most, rebuilding trees included, so a long run read back after a
 * restart is worked through a slice at a time between requests instead of in one long stall.
 */
const READ_BUDGET_EVENTS = 20_000;
/** How long new events wait to be batched before export starts. */
export const EXPORT_DELAY_MS = 200;
/** An export request with no answer by then is retried. */
export const EXPORT_TIMEOUT_MS = 10_000;
/** Backoff between retries without Retry-After: doubles from the first to the cap, ±20 % jitter. */
export const RETRY_FIRST_MS = 500;
export const RETRY_MAX_MS = 30_000;
/** A Retry-After beyond this is cut to it. */
export const RETRY_AFTER_MAX_MS = 5 * 60_000;
/** Span trees kept for runs that are between batches; the least recently used is rebuilt later. */
const MAX_KEPT_TREES = 1000;

export interface OtlpExportOptions extends OtlpExportConfig {
  log(line: string): void;
}

interface RunState {
  tree: SpanTree;
  ids: RunIds;
  /** Events up to this seq are in the tree. */
  readSeq: number;
  /** Events up to this seq were sent before; they are read back into the tree, not sent again. */
  sentSeq: number;
  root: boolean;
}

interface Batch {
  spans: OutgoingSpan[];
  updates: Map<string, RunCursor>;
}

export function tracesUrlOf(endpoint: string): URL {
  return new URL(endpoint.replace(/\/+$/, '') + OTLP_TRACES_PATH);
}

export class OtlpExporter implements StoreListener {
  readonly endpoint: string;
  #url: URL;
  #store: Store;
  #options: OtlpExportOptions;
  #cursor: ExportCursor;
  #states = new Map<string, RunState>();
  #dirty = new Set<string>();
  /** Batches collected and not yet taken, oldest first: their runs' cursors move once they are. */
  #pending: Batch[] = [];
  #sent = 0;
  #failed = 0;
  #lastError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #pumping = false;
  #closed = false;

  constructor(store: Store, options: OtlpExportOptions) {
    this.#store = store;
    this.#options = options;
    this.#url = options.tracesUrl ? new URL(options.tracesUrl) : tracesUrlOf(options.endpoint);
    this.endpoint = this.#url.href;
    this.#cursor = new ExportCursor(store.dataDir);
    if (!this.#cursor.existed) {
      // Export is new to this data directory: it starts from now, not from the whole history.
      for (const run of store.runsNewestFirst())
        this.#cursor.runs.set(run.id, { seq: run.lastSeq, root: isTerminal(run.status) });
    }
    this.#cursor.compact((runId) => store.getRun(runId) !== undefined);
    for (const run of store.runsNewestFirst()) if (this.#behind(run)) this.#dirty.add(run.id);
    this.#schedule();
  }

  onEvent(run: Run): void {
    this.#dirty.add(run.id);
    this.#schedule();
  }

  onRunChange(run: Run): void {
    // A PATCH can end a run without an event; its root span is due then.
    if (isTerminal(run.status) && !this.#dirty.has(run.id) && this.#behind(run)) {
      this.#dirty.add(run.id);
      this.#schedule();
    }
  }

  onRunDeleted(id: string): void {
    this.#dirty.delete(id);
    this.#states.delete(id);
    this.#cursor.forget(id);
  }

  stats(): OtlpHealth {
    let lag = 0;
    const runs = new Set(this.#dirty);
    for (const batch of this.#pending) for (const id of batch.updates.keys()) runs.add(id);
    for (const id of runs) {
      const run = this.#store.getRun(id);
      if (run) lag += Math.max(0, run.lastSeq - this.#cursorOf(id).seq);
    }
    const health: OtlpHealth = {
      endpoint: this.endpoint,
      lag,
      sent: this.#sent,
      failed: this.#failed,
    };
    if (this.#lastError !== undefined) health.lastError = this.#lastError;
    return health;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  #cursorOf(runId: string): RunCursor {
    return this.#cursor.runs.get(runId) ?? { seq: 0, root: false };
  }

  #behind(run: Run): boolean {
    const cursor = this.#cursorOf(run.id);
    return run.lastSeq > cursor.seq || (isTerminal(run.status) && !cursor.root);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#pumping || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#pump();
    }, EXPORT_DELAY_MS);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    const pending = this.#pending;
    try {
      pending.push(this.#collect());
      while (!this.#closed && pending.length > 0) {
        const batch = pending[0]!;
        const delivered = batch.spans.length > 0 ? this.#deliver(batch.spans) : true;
        // The next batch is read while this one is on the wire; it goes out once this one is taken.
        if (pending.length === 1 && this.#dirty.size > 0) pending.push(this.#collect());
        if (!(await delivered)) return;
        this.#cursor.advance(batch.updates);
        pending.shift();
        if (pending.length === 0 && this.#dirty.size > 0) {
          // Yield, so requests and timers are served while export catches up.
          await new Promise((resolve) => setImmediate(resolve));
          pending.push(this.#collect());
        }
      }
    } catch (error) {
      this.#lastError = `export stopped by an internal error: ${(error as Error).message}`;
      this.#options.log(`otlp: ${this.#lastError}`);
      // Their spans are read again from the cursor on the next try.
      for (const batch of pending) {
        for (const id of batch.updates.keys()) {
          this.#states.delete(id);
          this.#dirty.add(id);
        }
      }
    } finally {
      this.#pumping = false;
      pending.length = 0;
    }
    if (this.#dirty.size > 0) this.#schedule();
  }

  /** Up to EXPORT_BATCH_SPANS spans from the runs that moved, and where each run's cursor goes. */
  #collect(): Batch {
    const batch: Batch = { spans: [], updates: new Map() };
    let budget = READ_BUDGET_EVENTS;
    const full = () => batch.spans.length >= EXPORT_BATCH_SPANS || budget <= 0;
    // Deleting from a Set while iterating it is safe; copying it per batch would not be cheap.
    for (const runId of this.#dirty) {
      if (full()) break;
      const run = this.#store.getRun(runId);
      if (!run) {
        this.#dirty.delete(runId);
        continue;
      }
      const state = this.#stateOf(run);
      while (state.readSeq < run.lastSeq && !full()) {
        const rebuilding = state.readSeq < state.sentSeq;
        const limit = rebuilding ? state.sentSeq - state.readSeq : READ_BUDGET_EVENTS;
        const page = this.#page(run, state.readSeq, Math.min(READ_PAGE_EVENTS, limit));
        if (page.through <= state.readSeq) {
          // Nothing more to read back: a cursor past the run's end is taken as its end.
          state.sentSeq = Math.min(state.sentSeq, state.readSeq);
          break;
        }
        budget -= page.through - state.readSeq;
        let stopped = false;
        for (let i = 0; i < page.events.length && !stopped; i++) {
          const event = page.events[i]!;
          state.readSeq = event.seq;
          const span = state.tree.add(event);
          if (!rebuilding && span && span.endSeq === event.seq) {
            batch.spans.push(spanOf(run, span, state.ids));
            stopped = batch.spans.length >= EXPORT_BATCH_SPANS;
          }
        }
        // Damaged records the page skipped are passed over with it.
        if (!stopped) state.readSeq = page.through;
      }
      if (state.readSeq < state.sentSeq) continue;
      const caughtUp = state.readSeq >= run.lastSeq;
      if (caughtUp && isTerminal(run.status) && !state.root) {
        const spans = state.tree.spans(run.status);
        const endMs = Date.parse(run.lastEventAt ?? run.endedAt ?? run.updatedAt);
        for (const span of spans)
          if (span.endTs === undefined) batch.spans.push(spanOf(run, span, state.ids, endMs));
        batch.spans.push(rootSpanOf(run, state.tree, spans, state.ids));
        state.root = true;
      }
      batch.updates.set(runId, { seq: state.readSeq, root: state.root });
      if (caughtUp) {
        this.#dirty.delete(runId);
        // An ended run's tree is not needed again; a live run's is kept for its next events.
        if (state.root) this.#states.delete(runId);
      }
    }
    return batch;
  }

  /**
   * The events after `after`, at most `limit` seqs of them, and the last seq the page covers
   * (damaged records are left out of the page but covered by it).
   */
  #page(run: Run, after: number, limit: number): { events: AgentEvent[]; through: number } {
    const from = Math.max(this.#store.firstSeq(run.id), after + 1);
    const through = Math.min(run.lastSeq, from + limit - 1);
    if (through < from) return { events: [], through: after };
    return { events: this.#store.readEvents(run.id, { after: from - 1, limit }), through };
  }

  /**
   * The run's span tree; one not kept starts empty and is read back up to the cursor by
   * #collect, a budget at a time.
   */
  #stateOf(run: Run): RunState {
    let state = this.#states.get(run.id);
    if (state) {
      this.#states.delete(run.id);
      this.#states.set(run.id, state);
      return state;
    }
    const cursor = this.#cursorOf(run.id);
    state = {
      tree: new SpanTree(run.id),
      ids: new RunIds(run.id),
      readSeq: 0,
      sentSeq: Math.min(cursor.seq, run.lastSeq),
      root: cursor.root,
    };
    this.#states.set(run.id, state);
    for (const id of this.#states.keys()) {
      if (this.#states.size <= MAX_KEPT_TREES) break;
      if (!this.#dirty.has(id)) this.#states.delete(id);
    }
    return state;
  }

  /** Sends one batch until a collector takes or refuses it; false if export was closed first. */
  async #deliver(spans: OutgoingSpan[]): Promise<boolean> {
    const body = encodeOtlpJson(spans, { 'service.name': this.#options.serviceName });
    let delayMs = RETRY_FIRST_MS;
    for (;;) {
      if (this.#closed) return false;
      const outcome = await postOtlp(this.#url, this.#options.headers, body, EXPORT_TIMEOUT_MS);
      if (outcome.kind === 'sent') {
        this.#sent += spans.length - outcome.rejectedSpans;
        if (outcome.rejectedSpans > 0) {
          this.#failed += outcome.rejectedSpans;
          this.#lastError = `collector refused ${outcome.rejectedSpans} spans: ${outcome.errorMessage}`;
          this.#options.log(`otlp: ${this.#lastError}`);
        }
        return true;
      }
      if (outcome.kind === 'refused') {
        this.#failed += spans.length;
        this.#lastError = `${spans.length} spans dropped: ${outcome.reason}`;
        this.#options.log(`otlp: ${this.#lastError}`);
        return true;
      }
      this.#lastError = `retrying: ${outcome.reason}`;
      const jitter = 0.8 + Math.random() * 0.4;
      const waitMs =
        outcome.retryAfterMs !== undefined
          ? Math.min(outcome.retryAfterMs, RETRY_AFTER_MAX_MS)
          : delayMs * jitter;
      delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
