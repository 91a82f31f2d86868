// "What is it doing now" for the runs list: for each live run shown, the newest events are fetched
// (at most once per ACTIVITY_REFRESH_MS, and only when the run has new ones) and fed to a
// RunActivity, the same derivation the run header uses.
import { EVENTS_MAX_LIMIT } from '../shared/constants.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { apiJson, runPath } from './api-client.ts';
import { RunActivity } from './run-activity.ts';

export const ACTIVITY_REFRESH_MS = 1000;
/** The first look at a run reads this many of its newest events. */
const FIRST_LOOK_EVENTS = 200;

interface Entry {
  activity: RunActivity;
  fetching: boolean;
  fetchedAt: number;
  /** Fed by the open run's view from its own stream: nothing to fetch. */
  shared: boolean;
}

export class RecentActivity {
  #entries = new Map<string, Entry>();
  #onUpdate: (runId: string) => void;

  constructor(onUpdate: (runId: string) => void) {
    this.#onUpdate = onUpdate;
  }

  /** The activity held for a run (empty until its events arrive). */
  of(runId: string): RunActivity {
    let entry = this.#entries.get(runId);
    if (!entry) {
      entry = { activity: new RunActivity(), fetching: false, fetchedAt: 0, shared: false };
      this.#entries.set(runId, entry);
    }
    return entry.activity;
  }

  forget(runId: string): void {
    if (!this.#entries.get(runId)?.shared) this.#entries.delete(runId);
  }

  /** The open run's view holds the run's stream: its activity is used as it is, never fetched. */
  share(runId: string, activity: RunActivity | undefined): void {
    for (const [id, entry] of this.#entries) if (entry.shared) this.#entries.delete(id);
    if (activity)
      this.#entries.set(runId, { activity, fetching: false, fetchedAt: 0, shared: true });
  }

  /** Fetches the run's newest events if it has some we have not seen and the last fetch is old enough. */
  refresh(run: Run, now: number): void {
    this.of(run.id);
    const entry = this.#entries.get(run.id)!;
    if (entry.shared || entry.fetching || run.lastSeq <= entry.activity.lastSeq) return;
    if (now - entry.fetchedAt < ACTIVITY_REFRESH_MS) return;
    entry.fetching = true;
    entry.fetchedAt = now;
    const seen = entry.activity.lastSeq;
    // Far behind (or never looked): the newest page; otherwise just what came after.
    const query =
      seen === 0 || run.lastSeq - seen > EVENTS_MAX_LIMIT
        ? `before=${run.lastSeq + 1}&limit=${FIRST_LOOK_EVENTS}`
        : `after=${seen}&limit=${EVENTS_MAX_LIMIT}`;
    apiJson<AgentEvent[]>(runPath(run.id, `/events?${query}`))
      .then((events) => {
        for (const event of events) entry.activity.add(event);
        this.#onUpdate(run.id);
      })
      .catch(() => undefined)
      .finally(() => {
        entry.fetching = false;
      });
  }
}
