// Derived facts about a run that the list and the header both show.
import { TERMINAL_STATUSES } from '../shared/constants.ts';
import type { Run, RunStatus } from '../shared/types.ts';

/** A running run silent for this long is marked stale: its producer may have died. */
export const STALE_AFTER_MS = 5 * 60_000;

export function isTerminalRun(run: Run): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(run.status);
}

export function isStale(run: Run, now = Date.now()): boolean {
  if (run.status !== 'running') return false;
  const last = Date.parse(run.lastEventAt ?? run.updatedAt ?? run.startedAt);
  return now - last > STALE_AFTER_MS;
}

/** Milliseconds from start to end, or to now while the run is not over. */
export function runDurationMs(run: Run, now = Date.now()): number {
  const end = run.endedAt ? Date.parse(run.endedAt) : now;
  return end - Date.parse(run.startedAt);
}

/** Keeps the newer of two copies of a run (the change feed and a list load can cross). */
export function newerRun(current: Run | undefined, next: Run): Run {
  if (!current) return next;
  return Date.parse(next.updatedAt) >= Date.parse(current.updatedAt) ? next : current;
}

/** Status as a badge says it: a word, never a colour alone. */
export const STATUS_LABEL: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  completed: 'Completed',
  error: 'Failed',
  stopped: 'Stopped',
};
