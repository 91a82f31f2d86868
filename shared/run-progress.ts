// Where a run is, as its events say it: `step` and `total` (or a run's `totalSteps` metadata), and
// `progress` as a percentage (0–100) or a fraction (0–1, when not above 1). The original CLI sends
// all three on task.progress; docs/protocol.md lists them under the payload conventions.
import type { AgentEvent, JsonObject } from './types.ts';

export interface RunProgress {
  step?: number;
  total?: number;
  /** 0..1 */
  fraction?: number;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The progress an event reports, if it reports any. */
export function progressOf(event: Pick<AgentEvent, 'payload'>): RunProgress | undefined {
  const { step, total, totalSteps, progress } = event.payload;
  const result: RunProgress = {};
  const s = positive(step);
  const t = positive(total) ?? positive(totalSteps);
  const p = positive(progress);
  if (s !== undefined) result.step = s;
  if (t !== undefined && t > 0) result.total = t;
  if (p !== undefined) result.fraction = Math.min(1, p > 1 ? p / 100 : p);
  return Object.keys(result).length === 0 ? undefined : result;
}

/** The total a run's metadata announces (`totalSteps`), if any. */
export function totalStepsOf(metadata: JsonObject): number | undefined {
  const total = positive(metadata.totalSteps);
  return total !== undefined && total > 0 ? total : undefined;
}
