// The Trace tab's time axis: a time window, where a time falls in it, and tick marks at round
// steps (1, 2, 5 × 10^n ms) labelled as offsets from the run's start.

export interface TimeWindow {
  start: number;
  end: number;
}

/** About this many pixels between two ticks. */
const TICK_SPACING_PX = 110;
const STEPS_MS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].map((p) => m * p));
STEPS_MS.sort((a, b) => a - b);
/** The narrowest window a zoom goes to. */
export const MIN_WINDOW_MS = 5;

/** Position of `ms` in the window as a fraction (not clamped). */
export function fractionOf(window: TimeWindow, ms: number): number {
  return (ms - window.start) / Math.max(1, window.end - window.start);
}

export function timeAt(window: TimeWindow, fraction: number): number {
  return window.start + fraction * (window.end - window.start);
}

/** "+0", "+250ms", "+1.5s", "+2m 30s", "+1h 05m": an offset from the run's start. */
export function formatOffsetMs(ms: number): string {
  const sign = ms < 0 ? '−' : '+';
  const abs = Math.abs(ms);
  if (abs === 0) return '+0';
  if (abs < 1000) return `${sign}${Math.round(abs)}ms`;
  if (abs < 60_000) return `${sign}${Number((abs / 1000).toFixed(abs < 10_000 ? 2 : 1))}s`;
  const minutes = Math.floor(abs / 60_000);
  const seconds = Math.round((abs % 60_000) / 1000);
  if (abs < 3_600_000) return `${sign}${minutes}m${seconds ? ` ${seconds}s` : ''}`;
  const hours = Math.floor(abs / 3_600_000);
  return `${sign}${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** Ticks for a window `widthPx` wide, labelled relative to `originMs`. */
export function axisTicks(
  window: TimeWindow,
  widthPx: number,
  originMs: number,
): Array<{ fraction: number; label: string }> {
  const span = Math.max(1, window.end - window.start);
  const wanted = Math.max(2, Math.floor(widthPx / TICK_SPACING_PX));
  const step = STEPS_MS.find((candidate) => span / candidate <= wanted) ?? STEPS_MS.at(-1)!;
  const ticks: Array<{ fraction: number; label: string }> = [];
  const first = Math.ceil((window.start - originMs) / step) * step + originMs;
  for (let ms = first; ms <= window.end; ms += step)
    ticks.push({ fraction: fractionOf(window, ms), label: formatOffsetMs(ms - originMs) });
  return ticks;
}

/** The window zoomed by `factor` (< 1 zooms in) around the time at `fraction`. */
export function zoomAround(window: TimeWindow, fraction: number, factor: number): TimeWindow {
  const pivot = timeAt(window, fraction);
  const span = Math.max(MIN_WINDOW_MS, (window.end - window.start) * factor);
  return { start: pivot - fraction * span, end: pivot + (1 - fraction) * span };
}
