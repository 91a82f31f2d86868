// Where each queued run stands in the queue: claimed oldest first (docs/protocol.md), so its
// position is its rank by queuedAt among the queued runs this page knows of.
import type { Run } from '../shared/types.ts';

/** 1-based positions of the queued runs among `runs`, by queuedAt. */
export function queuePositions(runs: Iterable<Run>): Map<string, number> {
  const queued = [...runs]
    .filter((run) => run.status === 'queued' && run.task !== undefined)
    .sort((a, b) => (a.queuedAt ?? a.startedAt).localeCompare(b.queuedAt ?? b.startedAt));
  return new Map(queued.map((run, index) => [run.id, index + 1]));
}
