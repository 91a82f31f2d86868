// The queue as this page knows it: every queued run with a task, each with its position. Workers
// claim oldest first (docs/protocol.md), so a run's position is its rank by queuedAt. It holds the
// whole queue, not the runs list's loaded page or search, so the list and the run header agree on a
// position whatever the list shows. Loaded on every (re)connect of the runs feed and kept live from
// it; a change that comes while a load is under way wins over that load's older copy.
import type { Run, RunChange } from '../shared/types.ts';
import { apiFetch } from './api-client.ts';
import { newerRun } from './run-status.ts';

/** Queued runs asked for per request (the route's largest page). */
const QUEUE_PAGE_SIZE = 1000;

function isQueuedWork(run: Run): boolean {
  return run.status === 'queued' && run.task !== undefined;
}

export class QueuedRuns {
  #runs = new Map<string, Run>();
  #positions = new Map<string, number>();
  /** Changes seen since the current load began (null: the run was deleted); undefined: no load. */
  #sinceLoad: Map<string, Run | null> | undefined;
  #loadToken = 0;
  #onChange: () => void;

  /** `onChange` is told whenever a position (or the queue's length) changed. */
  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  /** 1-based position of a queued run, or undefined for a run not in the queue. */
  position(runId: string): number | undefined {
    return this.#positions.get(runId);
  }

  get size(): number {
    return this.#positions.size;
  }

  /** Loads every queued run (page after page); the feed keeps the queue current afterwards. */
  async load(): Promise<void> {
    const token = ++this.#loadToken;
    const sinceLoad = new Map<string, Run | null>();
    this.#sinceLoad = sinceLoad;
    const loaded = new Map<string, Run>();
    try {
      let before: string | undefined;
      do {
        const params = new URLSearchParams({ status: 'queued', limit: String(QUEUE_PAGE_SIZE) });
        if (before !== undefined) params.set('before', before);
        const response = await apiFetch(`/api/runs?${params}`);
        if (!response.ok) throw new Error(`GET /api/runs answered ${response.status}`);
        const runs = (await response.json()) as Run[];
        for (const run of runs) loaded.set(run.id, run);
        before = response.headers.get('link')?.includes('rel="next"') ? runs.at(-1)?.id : undefined;
      } while (before !== undefined && token === this.#loadToken);
    } catch {
      // The queue stays as the feed left it; the next (re)connect loads it again.
      return;
    } finally {
      if (token === this.#loadToken) this.#sinceLoad = undefined;
    }
    if (token !== this.#loadToken) return;
    for (const [id, copy] of sinceLoad) this.#put(loaded, id, copy);
    for (const [id, run] of loaded) if (!isQueuedWork(run)) loaded.delete(id);
    this.#runs = loaded;
    this.#rank();
  }

  /** A change from the runs feed. */
  apply(change: RunChange): void {
    if (change.kind === 'worker') return;
    const id = change.kind === 'deleted' ? change.id : change.run.id;
    const copy = change.kind === 'deleted' ? null : change.run;
    this.#sinceLoad?.set(id, copy);
    if (this.#put(this.#runs, id, copy)) this.#rank();
  }

  /** Puts the newer copy of a run into `runs` if it is queued work, else takes it out. */
  #put(runs: Map<string, Run>, id: string, copy: Run | null): boolean {
    const current = runs.get(id);
    if (copy === null || !isQueuedWork(newerRun(current, copy))) return runs.delete(id);
    if (newerRun(current, copy) !== copy) return false;
    runs.set(id, copy);
    return current === undefined || current.queuedAt !== copy.queuedAt;
  }

  #rank(): void {
    const queued = [...this.#runs.values()].sort(
      (a, b) =>
        (a.queuedAt ?? a.startedAt).localeCompare(b.queuedAt ?? b.startedAt) ||
        a.id.localeCompare(b.id),
    );
    const positions = new Map(queued.map((run, index) => [run.id, index + 1]));
    const same =
      positions.size === this.#positions.size &&
      [...positions].every(([id, position]) => this.#positions.get(id) === position);
    this.#positions = positions;
    if (!same) this.#onChange();
  }
}
