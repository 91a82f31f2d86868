// Two runs side by side: duration, cost, tokens, tool calls per name, and the sequence of tool
// calls aligned so what changed stands out. Used by `agent-ops compare` and the dashboard.
import { argsSummary } from './args-summary.ts';
import type { Span } from './span-tree.ts';
import type { RunSummary, ToolStats } from './trace-summary.ts';

/** Above this many cells (calls of A × calls of B) the sequences are aligned by position. */
export const MAX_ALIGNMENT_CELLS = 4_000_000;

export const COMPARED_METRICS = [
  'duration',
  'cost',
  'tokens',
  'inputTokens',
  'outputTokens',
  'toolCalls',
  'failedTools',
  'spans',
  'errorSpans',
] as const;
export type ComparedMetric = (typeof COMPARED_METRICS)[number];

export interface MetricChange {
  /** null when the run does not know it (a cost nobody reported). */
  a: number | null;
  b: number | null;
  delta: number | null;
  /** Relative change in percent; null when unknown or A is 0. */
  deltaPct: number | null;
}

export interface ComparedCall {
  spanId: string;
  toolName: string;
  args: string;
  status: Span['status'];
  durationMs: number | null;
}

export interface AlignedCall {
  a?: ComparedCall;
  b?: ComparedCall;
  /** same: same tool and arguments; changed: same tool, other arguments or outcome. */
  change: 'same' | 'changed' | 'added' | 'removed';
}

export interface RunComparison {
  a: { runId: string; status: string };
  b: { runId: string; status: string };
  metrics: Record<ComparedMetric, MetricChange>;
  tools: Record<string, { a: ToolStats | null; b: ToolStats | null }>;
  sequence: AlignedCall[];
}

export function metricOf(summary: RunSummary, metric: ComparedMetric): number | null {
  switch (metric) {
    case 'duration':
      return summary.durationMs;
    case 'cost':
      return summary.usage.costUsd ?? null;
    case 'tokens':
      return summary.totalTokens;
    case 'inputTokens':
      return summary.usage.inputTokens ?? null;
    case 'outputTokens':
      return summary.usage.outputTokens ?? null;
    case 'toolCalls':
      return summary.toolCallCount;
    case 'failedTools':
      return summary.failedToolCalls;
    case 'spans':
      return summary.spanCount;
    case 'errorSpans':
      return summary.errorSpans;
    default:
      return metric satisfies never;
  }
}

/** Float dollars subtract with noise (0.15 - 0.1); nine decimals keep every real difference. */
function round(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

export function metricChange(a: number | null, b: number | null): MetricChange {
  const delta = a === null || b === null ? null : round(b - a);
  const deltaPct = delta === null || a === 0 ? null : round((delta / a!) * 100);
  return { a, b, delta, deltaPct };
}

function callsOf(spans: readonly Span[]): ComparedCall[] {
  return spans
    .filter((span) => span.kind === 'tool')
    .sort((x, y) => x.startSeq - y.startSeq)
    .map((span) => ({
      spanId: span.spanId,
      toolName: typeof span.attrs.toolName === 'string' ? span.attrs.toolName : span.name,
      args: argsSummary(span.attrs.args),
      status: span.status,
      durationMs: span.durationMs ?? null,
    }));
}

/** Longest common subsequence by tool name; unmatched calls are added or removed. */
export function alignCalls(a: readonly ComparedCall[], b: readonly ComparedCall[]): AlignedCall[] {
  const pair = (x: ComparedCall, y: ComparedCall): AlignedCall => ({
    a: x,
    b: y,
    change: x.args === y.args && x.status === y.status ? 'same' : 'changed',
  });
  if (a.length * b.length > MAX_ALIGNMENT_CELLS) {
    const out: AlignedCall[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const x = a[i];
      const y = b[i];
      if (x && y && x.toolName === y.toolName) out.push(pair(x, y));
      else {
        if (x) out.push({ a: x, change: 'removed' });
        if (y) out.push({ b: y, change: 'added' });
      }
    }
    return out;
  }
  const n = a.length;
  const m = b.length;
  // lengths[i][j]: LCS of a[i..] and b[j..], in one flat array.
  const lengths = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lengths[at(i, j)] =
        a[i]!.toolName === b[j]!.toolName
          ? lengths[at(i + 1, j + 1)]! + 1
          : Math.max(lengths[at(i + 1, j)]!, lengths[at(i, j + 1)]!);
  const out: AlignedCall[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i]!.toolName === b[j]!.toolName) out.push(pair(a[i++]!, b[j++]!));
    else if (lengths[at(i + 1, j)]! >= lengths[at(i, j + 1)]!)
      out.push({ a: a[i++]!, change: 'removed' });
    else out.push({ b: b[j++]!, change: 'added' });
  }
  while (i < n) out.push({ a: a[i++]!, change: 'removed' });
  while (j < m) out.push({ b: b[j++]!, change: 'added' });
  return out;
}

export function compareRuns(
  a: { summary: RunSummary; spans: readonly Span[] },
  b: { summary: RunSummary; spans: readonly Span[] },
): RunComparison {
  const metrics = {} as Record<ComparedMetric, MetricChange>;
  for (const metric of COMPARED_METRICS)
    metrics[metric] = metricChange(metricOf(a.summary, metric), metricOf(b.summary, metric));
  const tools: RunComparison['tools'] = {};
  const names = new Set([...Object.keys(a.summary.tools), ...Object.keys(b.summary.tools)]);
  for (const name of [...names].sort())
    tools[name] = { a: a.summary.tools[name] ?? null, b: b.summary.tools[name] ?? null };
  return {
    a: { runId: a.summary.runId, status: a.summary.status },
    b: { runId: b.summary.runId, status: b.summary.status },
    metrics,
    tools,
    sequence: alignCalls(callsOf(a.spans), callsOf(b.spans)),
  };
}
