// A run's spans derived from its events, one event at a time (docs/protocol.md, "Spans and
// usage"), so the server's index, the dashboard's live Trace tab and `agent-ops compare` agree
// exactly.
// Spans come from span.started / span.ended (and the original's span.start / span.end), and from
// tool calls: tool.called / tool.result paired by toolCallId, else by taskId (the original CLI),
// else by tool name. Bad input never throws here; it is kept and noted on the span it concerns.
import {
  SPAN_KINDS,
  USAGE_REPORT,
  isSpanEnd,
  isSpanStart,
  spanEventMs,
  type SpanKind,
} from './span-events.ts';
import { isFailedToolResult } from './run-effects.ts';
import { toolCallKey } from './tool-calls.ts';
import type { AgentEvent, JsonObject, RunStatus } from './types.ts';
import { addUsage, hasUsage, type Usage } from './usage.ts';

/** A span never ended is `running` while its run is, `unfinished` after. */
export type SpanStatus = 'running' | 'ok' | 'error' | 'unfinished';

export interface SpanUsage extends Usage {
  model?: string;
}

export interface Span {
  spanId: string;
  /** As the producer named it; null for a root. A parent that never arrived is kept (see `notes`). */
  parentSpanId: string | null;
  runId: string;
  name: string;
  kind: SpanKind;
  status: SpanStatus;
  /** ISO-8601 start and end, and the same as epoch ms (`startTs` / `endTs`, the original's fields). */
  start: string;
  end?: string;
  startTs: number;
  endTs?: number;
  durationMs?: number;
  /** Time not covered by any child (children running in parallel are counted once). */
  selfMs?: number;
  startSeq: number;
  endSeq?: number;
  /** Attributes from start and end merged; a tool call's are `toolName` and `args`. */
  attrs: JsonObject;
  usage?: SpanUsage;
  error?: string;
  /** Nesting level in the tree as drawn (0: a root); with the pre-order it rebuilds the tree. */
  depth?: number;
  /** What was odd about this span's events: ended twice, a parent that never arrived, a cycle… */
  notes?: string[];
}

/** A span as the tree keeps it; `Span` is its snapshot at a moment. */
interface Node {
  span: Span;
  /** The parent the tree hangs it under (null: a root), which differs from parentSpanId for an orphan or a cycle. */
  parent: Node | null;
  children: Node[];
}

const TOOL_CALLED = 'tool.called';
const TOOL_RESULT = 'tool.result';
/** Error texts on spans are cut here; the whole error stays in the event. */
const MAX_SPAN_ERROR_CHARS = 2000;
const NEVER_ARRIVED = 'never arrived';

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function objectOr(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

function kindOf(value: unknown): SpanKind {
  return (SPAN_KINDS as readonly unknown[]).includes(value) ? (value as SpanKind) : 'other';
}

function errorText(value: unknown): string | undefined {
  if (value === undefined || value === null || value === false) return undefined;
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > MAX_SPAN_ERROR_CHARS ? `${text.slice(0, MAX_SPAN_ERROR_CHARS)}…` : text;
}

function note(span: Span, text: string): void {
  (span.notes ??= []).push(text);
}

/** Inserts keeping `children` in start order (seq), so nothing moves once drawn. */
function insertBySeq(children: Node[], node: Node): void {
  let i = children.length;
  while (i > 0 && children[i - 1]!.span.startSeq > node.span.startSeq) i--;
  children.splice(i, 0, node);
}

export class SpanTree {
  readonly runId: string;
  /** Usage of the whole run, including reports that name no span. */
  readonly usage: Usage = {};
  /** Per span id, including ids of spans that never arrived (the original's `bySpan`). */
  readonly usageBySpan = new Map<string, SpanUsage>();
  #nodes = new Map<string, Node>();
  #roots: Node[] = [];
  /** Children whose parent has not arrived yet, by the parent's id. */
  #waiting = new Map<string, Node[]>();
  /** span.ended events whose span has not started yet. */
  #earlyEnds = new Map<string, AgentEvent>();
  /** Open tool calls without a toolCallId, oldest first, by taskId or tool name. */
  #openTools = new Map<string, Node[]>();
  #lastSeq = 0;
  #version = 0;

  constructor(runId: string) {
    this.runId = runId;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** Moves whenever an event changed a span or the usage; a cache of a snapshot keys on it. */
  get version(): number {
    return this.#version;
  }

  /** The seq of the last event fed in; a live view resumes its stream after it. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  get(spanId: string): Span | undefined {
    return this.#nodes.get(spanId)?.span;
  }

  /** Feeds one event in seq order; returns the span it started, ended or changed, if any. */
  add(event: AgentEvent): Span | undefined {
    if (event.seq <= this.#lastSeq) return undefined;
    this.#lastSeq = event.seq;
    const { type, payload } = event;
    let span: Span | undefined;
    if (isSpanStart(type)) span = this.#start(event);
    else if (isSpanEnd(type)) span = this.#end(event);
    else if (type === TOOL_CALLED) span = this.#toolCalled(event);
    else if (type === TOOL_RESULT) span = this.#toolResult(event);
    else if (type === USAGE_REPORT) span = this.#usage(payload);
    else return undefined;
    this.#version += 1;
    return span;
  }

  #start(event: AgentEvent): Span | undefined {
    const { payload } = event;
    const spanId = str(payload.spanId);
    if (spanId === undefined) return undefined;
    const existing = this.#nodes.get(spanId);
    if (existing) {
      note(existing.span, `started again by event ${event.seq}; the first start is kept`);
      return existing.span;
    }
    const attrs = { ...objectOr(payload.attrs), ...objectOr(payload.attributes) };
    const node = this.#create(event, {
      spanId,
      parentSpanId: str(payload.parentSpanId) ?? null,
      name: str(payload.name) ?? spanId,
      kind: kindOf(payload.kind),
      ms: spanEventMs(payload, event.ts),
      attrs,
    });
    const early = this.#earlyEnds.get(spanId);
    if (early) {
      this.#earlyEnds.delete(spanId);
      note(node.span, `its end (event ${early.seq}) arrived before its start`);
      this.#finish(node, early);
    }
    return node.span;
  }

  #end(event: AgentEvent): Span | undefined {
    const spanId = str(event.payload.spanId);
    if (spanId === undefined) return undefined;
    const node = this.#nodes.get(spanId);
    if (!node) {
      // Kept until its start arrives; a second early end is noted then, like any second end.
      if (!this.#earlyEnds.has(spanId)) this.#earlyEnds.set(spanId, event);
      return undefined;
    }
    this.#finish(node, event);
    return node.span;
  }

  #finish(node: Node, event: AgentEvent): void {
    const { span } = node;
    const { payload } = event;
    if (span.endSeq !== undefined) {
      note(span, `ended again by event ${event.seq}; the first end is kept`);
      return;
    }
    const ms = spanEventMs(payload, event.ts);
    span.endSeq = event.seq;
    span.endTs = ms;
    span.end = new Date(ms).toISOString();
    if (ms < span.startTs) note(span, `its end time is ${span.startTs - ms} ms before its start`);
    span.durationMs = Math.max(0, ms - span.startTs);
    const failed =
      payload.status === 'error' ||
      (event.type === TOOL_RESULT && isFailedToolResult(event)) ||
      (isSpanEnd(event.type) && payload.status !== 'ok' && errorText(payload.error) !== undefined);
    span.status = failed ? 'error' : 'ok';
    const error = errorText(payload.error) ?? (failed ? errorText(payload.message) : undefined);
    if (error !== undefined) span.error = error;
    Object.assign(span.attrs, objectOr(payload.attrs), objectOr(payload.attributes));
  }

  #toolCalled(event: AgentEvent): Span | undefined {
    const { payload } = event;
    const toolName = str(payload.toolName) ?? '(tool)';
    const toolCallId = str(payload.toolCallId);
    if (toolCallId !== undefined) {
      const existing = this.#nodes.get(toolCallId);
      if (existing) {
        // A producer that sent span.started for the call first: the call adds its name and args.
        if (existing.span.endSeq === undefined && existing.span.attrs.toolName === undefined) {
          Object.assign(existing.span.attrs, { toolName, args: payload.args });
          return existing.span;
        }
        note(existing.span, `called again by event ${event.seq}; the first call is kept`);
        return existing.span;
      }
    }
    const key = toolCallKey(event);
    let spanId = toolCallId ?? (event.taskId !== undefined ? `task:${event.taskId}` : undefined);
    // A taskId reused for a later call, or a call with no id at all, gets its event's seq.
    if (spanId === undefined || this.#nodes.has(spanId)) spanId = `tool:${event.seq}`;
    const attrs: JsonObject = { toolName };
    if (payload.args !== undefined) attrs.args = payload.args;
    if (toolCallId === undefined && event.taskId !== undefined) attrs.taskId = event.taskId;
    const node = this.#create(event, {
      spanId,
      parentSpanId: str(payload.parentSpanId) ?? null,
      name: toolName,
      kind: 'tool',
      ms: Date.parse(event.ts),
      attrs,
    });
    if (toolCallId === undefined) {
      const queue = this.#openTools.get(key);
      if (queue) queue.push(node);
      else this.#openTools.set(key, [node]);
    }
    return node.span;
  }

  #toolResult(event: AgentEvent): Span | undefined {
    const toolCallId = str(event.payload.toolCallId);
    let node: Node | undefined;
    if (toolCallId !== undefined) node = this.#nodes.get(toolCallId);
    else {
      const key = toolCallKey(event);
      const queue = this.#openTools.get(key);
      node = queue?.shift();
      if (queue?.length === 0) this.#openTools.delete(key);
    }
    if (!node) {
      // A result whose call never arrived: a span of the result's own duration, ending now.
      const ms = Date.parse(event.ts);
      const given = event.payload.duration;
      const duration = typeof given === 'number' && given >= 0 ? given : 0;
      const toolName = str(event.payload.toolName) ?? '(tool)';
      node = this.#create(event, {
        spanId: toolCallId ?? `tool:${event.seq}`,
        parentSpanId: str(event.payload.parentSpanId) ?? null,
        name: toolName,
        kind: 'tool',
        ms: ms - duration,
        attrs: { toolName },
      });
      note(node.span, `its call never arrived; the start is the result's time minus its duration`);
    }
    this.#finish(node, event);
    return node.span;
  }

  #usage(payload: JsonObject): Span | undefined {
    addUsage(this.usage, payload);
    const spanId = str(payload.spanId);
    if (spanId === undefined) return undefined;
    let usage = this.usageBySpan.get(spanId);
    if (!usage) this.usageBySpan.set(spanId, (usage = {}));
    addUsage(usage, payload);
    const model = str(payload.model);
    if (model !== undefined) usage.model = model;
    const node = this.#nodes.get(spanId);
    if (!node || !hasUsage(usage)) return undefined;
    node.span.usage = usage;
    return node.span;
  }

  #create(
    event: AgentEvent,
    fields: {
      spanId: string;
      parentSpanId: string | null;
      name: string;
      kind: SpanKind;
      ms: number;
      attrs: JsonObject;
    },
  ): Node {
    const ms = Number.isFinite(fields.ms) ? fields.ms : Date.parse(event.ts);
    const span: Span = {
      spanId: fields.spanId,
      parentSpanId: fields.parentSpanId,
      runId: this.runId,
      name: fields.name,
      kind: fields.kind,
      status: 'running',
      start: new Date(ms).toISOString(),
      startTs: ms,
      startSeq: event.seq,
      attrs: fields.attrs,
    };
    const usage = this.usageBySpan.get(span.spanId);
    if (usage && hasUsage(usage)) span.usage = usage;
    const node: Node = { span, parent: null, children: [] };
    this.#nodes.set(span.spanId, node);
    this.#attach(node);
    // Children that named this span before it arrived move under it now.
    const waiting = this.#waiting.get(span.spanId);
    if (waiting) {
      this.#waiting.delete(span.spanId);
      for (const child of waiting) {
        if (this.#isAncestor(child, node)) {
          note(
            child.span,
            `its parent ${JSON.stringify(span.spanId)} descends from it (a cycle); shown as a root`,
          );
          continue;
        }
        this.#roots.splice(this.#roots.indexOf(child), 1);
        child.parent = node;
        insertBySeq(node.children, child);
      }
    }
    return node;
  }

  /** Hangs a new node under its parent, or as a root (waiting for a parent that is not here yet). */
  #attach(node: Node): void {
    const parentId = node.span.parentSpanId;
    const parent = parentId === null ? undefined : this.#nodes.get(parentId);
    if (parent) {
      node.parent = parent;
      insertBySeq(parent.children, node);
      return;
    }
    if (parentId !== null) {
      const list = this.#waiting.get(parentId);
      if (list) list.push(node);
      else this.#waiting.set(parentId, [node]);
    }
    insertBySeq(this.#roots, node);
  }

  #isAncestor(candidate: Node, node: Node): boolean {
    for (let at: Node | null = node; at !== null; at = at.parent) if (at === candidate) return true;
    return false;
  }

  /**
   * A tree that continues from a snapshot of `spans()` (pre-order with depth) taken after event
   * `lastSeq`: a live view loads the snapshot, then feeds the events after it. The span objects
   * are taken over (a caller passes freshly parsed JSON). Ends that arrived before their start and
   * are still waiting are not in a snapshot.
   */
  static restore(runId: string, spans: Span[], lastSeq: number, usage?: Usage): SpanTree {
    const tree = new SpanTree(runId);
    tree.#lastSeq = lastSeq;
    if (usage) Object.assign(tree.usage, usage);
    const path: Node[] = [];
    const ids = new Set(spans.map((span) => span.spanId));
    // The snapshot's objects are taken over, not copied: a caller passes freshly parsed JSON.
    for (const span of spans) {
      const depth = span.depth ?? 0;
      delete span.depth;
      if (span.endSeq === undefined) {
        span.status = 'running';
        delete span.durationMs;
      }
      delete span.selfMs;
      // Recomputed by every snapshot.
      const notes = span.notes?.filter((text) => !text.endsWith(NEVER_ARRIVED));
      if (notes?.length) span.notes = notes;
      else delete span.notes;
      path.length = Math.min(path.length, depth);
      const parent = path[depth - 1] ?? null;
      const node: Node = { span, parent, children: [] };
      (parent ? parent.children : tree.#roots).push(node);
      path[depth] = node;
      tree.#nodes.set(span.spanId, node);
      if (span.usage) tree.usageBySpan.set(span.spanId, span.usage);
      if (parent === null && span.parentSpanId !== null && !ids.has(span.parentSpanId)) {
        const list = tree.#waiting.get(span.parentSpanId);
        if (list) list.push(node);
        else tree.#waiting.set(span.parentSpanId, [node]);
      }
      if (span.kind === 'tool' && span.endSeq === undefined) {
        const taskId = str(span.attrs.taskId);
        const key =
          taskId !== undefined
            ? `task:${taskId}`
            : span.spanId.startsWith('tool:')
              ? `name:${str(span.attrs.toolName) ?? ''}`
              : undefined;
        if (key !== undefined) {
          const queue = tree.#openTools.get(key);
          if (queue) queue.push(node);
          else tree.#openTools.set(key, [node]);
        }
      }
    }
    return tree;
  }

  /**
   * Every span, parents before children (each level in start order), with status, duration and
   * self time as of `nowMs`. `runStatus` decides whether a span never ended is still running.
   */
  spans(runStatus: RunStatus, nowMs = Date.now()): Span[] {
    const live = runStatus === 'running' || runStatus === 'paused' || runStatus === 'queued';
    const out: Span[] = [];
    // An explicit stack: a chain of spans can be deeper than the call stack.
    const stack: Array<[Node, number]> = [];
    for (let i = this.#roots.length - 1; i >= 0; i--) stack.push([this.#roots[i]!, 0]);
    while (stack.length > 0) {
      const [node, depth] = stack.pop()!;
      const span: Span = { ...node.span, depth };
      const end = span.endTs ?? (live ? Math.max(nowMs, span.startTs) : undefined);
      if (span.endSeq === undefined) {
        span.status = live ? 'running' : 'unfinished';
        if (end !== undefined) span.durationMs = Math.max(0, end - span.startTs);
      }
      const parentId = span.parentSpanId;
      if (node.parent === null && parentId !== null && !this.#nodes.has(parentId))
        span.notes = [
          ...(span.notes ?? []),
          `its parent ${JSON.stringify(parentId)} ${NEVER_ARRIVED}`,
        ];
      if (end !== undefined)
        span.selfMs = selfTime(node, span.startTs, end, live ? nowMs : undefined);
      out.push(span);
      for (let i = node.children.length - 1; i >= 0; i--)
        stack.push([node.children[i]!, depth + 1]);
    }
    return out;
  }
}

/** The part of [start, end] that no child covers; a running child counts up to `nowMs`. */
function selfTime(node: Node, start: number, end: number, nowMs: number | undefined): number {
  if (node.children.length === 0) return Math.max(0, end - start);
  const intervals: Array<[number, number]> = [];
  for (const { span } of node.children) {
    const childEnd = span.endTs ?? nowMs;
    if (childEnd === undefined) continue;
    const from = Math.max(start, span.startTs);
    const to = Math.min(end, childEnd);
    if (to > from) intervals.push([from, to]);
  }
  intervals.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let reach = start;
  for (const [from, to] of intervals) {
    if (to <= reach) continue;
    covered += to - Math.max(from, reach);
    reach = to;
  }
  return Math.max(0, end - start - covered);
}

/** All spans of a list of events at once; for a CLI or a test. */
export function spansOf(
  runId: string,
  events: Iterable<AgentEvent>,
  runStatus: RunStatus,
  nowMs?: number,
): { tree: SpanTree; spans: Span[] } {
  const tree = new SpanTree(runId);
  for (const event of events) tree.add(event);
  return { tree, spans: tree.spans(runStatus, nowMs) };
}
