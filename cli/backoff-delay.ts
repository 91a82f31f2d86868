// How long to wait before retry number `attempt` (0-based): exponential with jitter, so many
// producers that lost the same server do not come back in lockstep; never less than the server's
// Retry-After.
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_MAX_MS = 5_000;

export function backoffDelayMs(attempt: number, retryAfterMs = 0, random = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  return Math.max(retryAfterMs, Math.round(jittered));
}

/** Retry-After is either delay-seconds or an HTTP date. */
export function parseRetryAfterMs(header: string | undefined, now = Date.now()): number {
  if (header === undefined || header === '') return 0;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, date - now);
}
