// What a run's spans add up to: our summary (GET /api/runs/:id/summary, the Trace tab's strip,
// `agent-ops compare`) and the original server's two answers (/usage and /trace-summary), all
// from the same list of spans.
import type { SpanKind } from './span-events.ts';
import type { Span, SpanUsage } from './span-tree.ts';
import type { Run } from './types.ts';
import { totalTokens, type Usage } from './usage.ts';

/** How many spans the summary lists by self time (the Trace tab shows the first three). */
export const SUMMARY_TOP_SPANS = 10;
/** The original lists its ten slowest spans. */
export const COMPAT_SLOWEST_SPANS = 10;

export interface ToolStats {
  count: number;
  failed: number;
  p50Ms: number | null;
  maxMs: number | null;
  totalMs: number;
}

export interface TopSpan {
  spanId: string;
  name: string;
  kind: SpanKind;
  selfMs: number;
  durationMs: number | null;
}

export interface RunSummary {
  runId: string;
  status: Run['status'];
  durationMs: number;
  spanCount: number;
  runningSpans: number;
  errorSpans: number;
  toolCallCount: number;
  failedToolCalls: number;
  tools: Record<string, ToolStats>;
  usage: Usage;
  totalTokens: number | null;
  criticalPathMs: number;
  topSelfTime: TopSpan[];
}

/** The value at the middle of an ascending list (the lower of two middles). */
export function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The run's wall time: start to end, or to now while it is not over. */
export function runDurationMs(run: Run, nowMs = Date.now()): number {
  const start = Date.parse(run.startedAt);
  const end = run.endedAt !== undefined ? Date.parse(run.endedAt) : nowMs;
  return Math.max(0, end - start);
}

export function toolStats(spans: readonly Span[]): Record<string, ToolStats> {
  const durations = new Map<string, number[]>();
  const tools: Record<string, ToolStats> = {};
  for (const span of spans) {
    if (span.kind !== 'tool') continue;
    const name = typeof span.attrs.toolName === 'string' ? span.attrs.toolName : span.name;
    const stats = (tools[name] ??= { count: 0, failed: 0, p50Ms: null, maxMs: null, totalMs: 0 });
    stats.count += 1;
    if (span.status === 'error') stats.failed += 1;
    if (span.endTs === undefined || span.durationMs === undefined) continue;
    stats.totalMs += span.durationMs;
    let list = durations.get(name);
    if (!list) durations.set(name, (list = []));
    list.push(span.durationMs);
  }
  for (const [name, list] of durations) {
    list.sort((a, b) => a - b);
    tools[name]!.p50Ms = median(list);
    tools[name]!.maxMs = list[list.length - 1]!;
  }
  return tools;
}

/**
 * The time the run spent on its critical path: walking back from the last span to end, each
 * top-level span that ended before the previous one started, summed (idle gaps between them are
 * not counted). Work in parallel with the path is off it.
 */
export function criticalPathMs(spans: readonly Span[]): number {
  const roots = spans
    .filter((span) => span.depth === 0 && span.durationMs !== undefined)
    .map((span) => ({ start: span.startTs, end: span.startTs + span.durationMs! }))
    .sort((a, b) => b.end - a.end);
  let cursor = Infinity;
  let total = 0;
  for (const { start, end } of roots) {
    if (start >= cursor) continue;
    total += Math.min(end, cursor) - start;
    cursor = start;
  }
  return total;
}

export function summarizeRun(run: Run, spans: readonly Span[], nowMs = Date.now()): RunSummary {
  let runningSpans = 0;
  let errorSpans = 0;
  let toolCallCount = 0;
  let failedToolCalls = 0;
  for (const span of spans) {
    if (span.status === 'running') runningSpans += 1;
    if (span.status === 'error') errorSpans += 1;
    if (span.kind !== 'tool') continue;
    toolCallCount += 1;
    if (span.status === 'error') failedToolCalls += 1;
  }
  // One pass keeping the few largest, not a sort of every span.
  const top: Span[] = [];
  for (const span of spans) {
    if (span.selfMs === undefined) continue;
    if (top.length === SUMMARY_TOP_SPANS && span.selfMs <= top[top.length - 1]!.selfMs!) continue;
    let i = top.length;
    while (i > 0 && top[i - 1]!.selfMs! < span.selfMs) i--;
    top.splice(i, 0, span);
    if (top.length > SUMMARY_TOP_SPANS) top.pop();
  }
  const topSelfTime = top.map((span) => ({
    spanId: span.spanId,
    name: span.name,
    kind: span.kind,
    selfMs: span.selfMs!,
    durationMs: span.durationMs ?? null,
  }));
  const usage = run.usage ?? {};
  return {
    runId: run.id,
    status: run.status,
    durationMs: runDurationMs(run, nowMs),
    spanCount: spans.length,
    runningSpans,
    errorSpans,
    toolCallCount,
    failedToolCalls,
    tools: toolStats(spans),
    usage,
    totalTokens: totalTokens(usage) ?? null,
    criticalPathMs: criticalPathMs(spans),
    topSelfTime,
  };
}

// ---- The original server's answers ----

export interface CompatUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** null when no report named a cost: unknown, not free. */
  costUsd: number | null;
  model?: string;
}

function compatUsage(usage: SpanUsage): CompatUsage {
  const result: CompatUsage = {
    inputTokens: usage.inputTokens ?? 0,
    outputTokens: usage.outputTokens ?? 0,
    totalTokens: totalTokens(usage) ?? 0,
    costUsd: usage.costUsd ?? null,
  };
  if (usage.model !== undefined) result.model = usage.model;
  return result;
}

/** GET /api/runs/:id/usage in the original's shape. */
export function usageAnswer(
  runUsage: Usage | undefined,
  bySpan: ReadonlyMap<string, SpanUsage>,
): { totals: CompatUsage; bySpan: Record<string, CompatUsage> } {
  const answer: Record<string, CompatUsage> = {};
  for (const [spanId, usage] of bySpan) answer[spanId] = compatUsage(usage);
  return { totals: compatUsage(runUsage ?? {}), bySpan: answer };
}

interface CompatSpan {
  spanId: string;
  name: string;
  kind: SpanKind;
  durationMs: number | null;
  status: string;
}

interface Hotspot {
  kind: SpanKind;
  spanCount: number;
  errorCount: number;
  totalTokens?: number;
  costUsd?: number;
}

function compatSpan(span: Span): CompatSpan {
  return {
    spanId: span.spanId,
    name: span.name,
    kind: span.kind,
    durationMs: span.endTs !== undefined ? (span.durationMs ?? null) : null,
    status: span.status,
  };
}

function hotspots<T extends string>(
  spans: readonly Span[],
  field: T,
  value: (span: Span) => number,
): Array<Hotspot & Record<T, number>> {
  const byKind = new Map<SpanKind, Hotspot & Record<T, number>>();
  for (const span of spans) {
    let entry = byKind.get(span.kind);
    if (!entry) {
      entry = { kind: span.kind, [field]: 0, spanCount: 0, errorCount: 0 } as Hotspot &
        Record<T, number>;
      byKind.set(span.kind, entry);
    }
    entry.spanCount += 1;
    if (span.status === 'error') entry.errorCount += 1;
    (entry as Record<string, number>)[field] += value(span);
    const tokens = totalTokens(span.usage);
    if (tokens !== undefined) entry.totalTokens = (entry.totalTokens ?? 0) + tokens;
    const cost = span.usage?.costUsd;
    if (cost !== undefined) entry.costUsd = (entry.costUsd ?? 0) + cost;
  }
  return [...byKind.values()].sort(
    (a, b) => (b as Record<string, number>)[field]! - (a as Record<string, number>)[field]!,
  );
}

/** GET /api/runs/:id/trace-summary in the original's shape; only ended spans count for time. */
export function traceSummaryAnswer(spans: readonly Span[], nowMs = Date.now()) {
  const ended = spans.filter((span) => span.endTs !== undefined);
  let totalDurationMs = 0;
  if (spans.length > 0) {
    // Loops, not Math.min(...spans): a spread of a huge list overflows the stack.
    let start = Infinity;
    for (const span of spans) start = Math.min(start, span.startTs);
    let end = ended.length > 0 ? -Infinity : nowMs;
    for (const span of ended) end = Math.max(end, span.endTs!);
    totalDurationMs = Math.max(0, end - start);
  }
  return {
    totalDurationMs,
    criticalPathMs: criticalPathMs(spans),
    slowestSpans: [...ended]
      .sort((a, b) => b.durationMs! - a.durationMs!)
      .slice(0, COMPAT_SLOWEST_SPANS)
      .map(compatSpan),
    errorSpans: spans.filter((span) => span.status === 'error').map(compatSpan),
    hotspotsByKind: hotspots(spans, 'totalDurationMs', (span) =>
      span.endTs !== undefined ? (span.durationMs ?? 0) : 0,
    ),
    hotspotsByKindSelf: hotspots(spans, 'totalSelfMs', (span) =>
      span.endTs !== undefined ? (span.selfMs ?? 0) : 0,
    ),
  };
}
