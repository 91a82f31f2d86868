// How the bench writes numbers: thousands separators, and units that keep a figure short.

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const ms = (n: number): string => `${fmt(n, n < 10 ? 2 : n < 100 ? 1 : 0)} ms`;

export const pct = (fraction: number): string => `${fmt(fraction * 100)}%`;

export const bytes = (n: number): string =>
  n >= 1024 * 1024 ? `${fmt(n / 1024 / 1024, 2)} MB` : `${fmt(n / 1024, 1)} kB`;

export function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 160) ?? '';
}
