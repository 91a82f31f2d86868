// Durations as people write them on a command line: `300ms`, `60s`, `30m`, `2h`, `1d`; a bare
// number is seconds.
import { invalid } from './errors.ts';
import { quote } from './validate.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

/** Milliseconds, within [minMs, maxMs]; the message names `name` and quotes the input. */
export function parseDurationMs(text: string, name: string, minMs: number, maxMs: number): number {
  const match = DURATION.exec(text.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!) : Number.NaN;
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
    throw invalid(
      `${name} must be a duration like 300ms, 60s, 30m, 2h or 1d, from ${formatDuration(minMs)} to ${formatDuration(maxMs)}; got ${quote(text)}`,
    );
  }
  return ms;
}

/** The shortest exact spelling: 60000 → "60s", 1800000 → "30m". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
