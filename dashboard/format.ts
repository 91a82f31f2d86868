// Times, durations, numbers and JSON as the dashboard shows them.
import { compactJson } from '../shared/compact-json.ts';

/** "850 ms", "12.3 s", "4m 05s", "2h 03m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

/** "just now", "12s ago", "5m ago", "3h ago", "2d ago". */
export function formatAgo(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '—';
  if (ms < 5_000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s ago`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h ago`;
  return `${Math.floor(ms / 86_400_000)}d ago`;
}

/** Local date and time to the second, for hover titles and ended runs. */
export function formatAbsolute(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.` +
    pad(date.getMilliseconds(), 3)
  );
}

/** Offset of an event from the start of its run: "+0:12.345", "+1:02:03.004". */
export function formatOffset(iso: string, startIso: string): string {
  const ms = Date.parse(iso) - Date.parse(startIso);
  if (!Number.isFinite(ms)) return iso;
  const sign = ms < 0 ? '-' : '+';
  const abs = Math.abs(ms);
  const hours = Math.floor(abs / 3_600_000);
  const minutes = Math.floor((abs % 3_600_000) / 60_000);
  const seconds = Math.floor((abs % 60_000) / 1000);
  const millis = Math.floor(abs % 1000);
  const tail = `${String(seconds).padStart(2, '0')}.${String(millis).padStart(3, '0')}`;
  return hours > 0
    ? `${sign}${hours}:${String(minutes).padStart(2, '0')}:${tail}`
    : `${sign}${minutes}:${tail}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A metadata value as text: strings as they are, anything else as JSON. */
export function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : compactJson(value, 200);
}

/** "$0.0421", "$12.30"; four decimals under a dollar, where agent costs live. */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}
