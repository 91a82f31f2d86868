// Durations as people write them: `250ms`, `5s`, `2m`, `1h`, `1.5s`. A bare number is in the unit
// the option has always taken, so `--interval 250` and `--retry-for 60` keep their meaning.

/** Milliseconds per accepted unit, in the order error messages list them. */
export const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

export type DurationUnit = keyof typeof DURATION_UNITS;

const DURATION_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i;

/**
 * Milliseconds (rounded to whole ones), or undefined when `text` is not a duration: an unknown
 * unit, a sign, or no number at all.
 */
export function parseDuration(text: string, bareUnit: DurationUnit): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2]!.toLowerCase() || bareUnit) as string;
  if (!Object.hasOwn(DURATION_UNITS, unit)) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[unit as DurationUnit]);
}

/** `250ms`, `5s`, `2m`, `1h`, `1.5s`: the shortest exact spelling of a duration, for help texts. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  if (ms >= 1000 && ms % 100 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** What a duration may look like, for an error message. */
export function durationFormatHint(bareUnit: DurationUnit): string {
  const units = Object.keys(DURATION_UNITS).join(', ');
  return `a duration like 250ms, 5s, 2m or 1h (units ${units}; a bare number is in ${bareUnit})`;
}
