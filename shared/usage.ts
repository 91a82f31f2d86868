// Token and cost totals. A field is present only once some report carried it: a run whose
// reports never named a cost has no costUsd (unknown), never a made-up 0.
import type { JsonObject } from './types.ts';

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  costUsd?: number;
}

const SUMMED = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'costUsd'] as const;

function amount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Adds one usage.report payload to `target` in place; values that are not numbers of 0 or more
 * are skipped (ingest refuses them; this guards records written before it did). The original's
 * `totalTokens` counts as input when a report names neither input nor output.
 */
export function addUsage(target: Usage, report: JsonObject): void {
  for (const field of SUMMED) {
    const value = amount(report[field]);
    if (value !== undefined) target[field] = roundCost(field, (target[field] ?? 0) + value);
  }
  const total = amount(report.totalTokens);
  if (total !== undefined && report.inputTokens === undefined && report.outputTokens === undefined)
    target.inputTokens = (target.inputTokens ?? 0) + total;
}

/** Sums of float dollars drift (0.1 + 0.2); twelve decimals keep them exact to the cent and well beyond. */
function roundCost(field: string, value: number): number {
  return field === 'costUsd' ? Math.round(value * 1e12) / 1e12 : value;
}

export function totalTokens(usage: Usage | undefined): number | undefined {
  if (!usage || (usage.inputTokens === undefined && usage.outputTokens === undefined))
    return undefined;
  return (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
}

export function hasUsage(usage: Usage): boolean {
  return SUMMED.some((field) => usage[field] !== undefined);
}

/** The totals the protocol also writes into a run's metadata, under these same names. */
export const USAGE_METADATA_FIELDS = ['costUsd', 'inputTokens', 'outputTokens'] as const;

/**
 * The run's metadata with its usage totals written in (`costUsd`, `inputTokens`, `outputTokens`,
 * each once some report carried it), as a new object, so a reader of the old one never sees it
 * change under it.
 */
export function withUsageInMetadata(metadata: JsonObject, usage: Usage): JsonObject {
  const next = { ...metadata };
  for (const field of USAGE_METADATA_FIELDS)
    if (usage[field] !== undefined) next[field] = usage[field];
  return next;
}
