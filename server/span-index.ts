// Each run's span tree, kept as events are written (a store listener), so answering /spans never
// re-reads the run. A tree is built from the run's stored events the first time the run's spans
// are asked for, which is also how trees come back after a restart; only the most recently used
// MAX_LOADED_TREES stay in memory, so touching every run of a large store stays bounded.
import { SpanTree } from '../shared/span-tree.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import type { Store, StoreListener } from './store.ts';

/** Trees kept in memory; the least recently used is dropped (and rebuilt when asked for again). */
export const MAX_LOADED_TREES = 64;
/** Records read per step while building a tree. */
const BUILD_PAGE_EVENTS = 5000;
/** The only events a tree looks at; other lines are skipped without being parsed. */
const TRACE_TYPE_MARKS = ['","type":"span.', '","type":"tool.', '","type":"usage.'];

export class SpanIndex implements StoreListener {
  #store: Store;
  #trees = new Map<string, SpanTree>();
  #maxLoaded: number;

  constructor(store: Store, maxLoaded = MAX_LOADED_TREES) {
    this.#store = store;
    this.#maxLoaded = maxLoaded;
  }

  onEvent(run: Run, event: AgentEvent): void {
    this.#trees.get(run.id)?.add(event);
  }

  onRunDeleted(id: string): void {
    this.#trees.delete(id);
  }

  /** The run's tree, built from its stored events on first use; throws NotFound for no run. */
  tree(runId: string): SpanTree {
    let tree = this.#trees.get(runId);
    if (tree) {
      // Most recently used last.
      this.#trees.delete(runId);
      this.#trees.set(runId, tree);
      return tree;
    }
    tree = this.#build(runId);
    this.#trees.set(runId, tree);
    if (this.#trees.size > this.#maxLoaded) this.#trees.delete(this.#trees.keys().next().value!);
    return tree;
  }

  get loaded(): number {
    return this.#trees.size;
  }

  #build(runId: string): SpanTree {
    const tree = new SpanTree(runId);
    // Reads are synchronous, so no event can be written between the pages and the listener.
    let after = this.#store.firstSeq(runId) - 1;
    const lastSeq = this.#store.getRun(runId)?.lastSeq ?? 0;
    while (after < lastSeq) {
      const { lines, through } = this.#store.readLines(runId, after, BUILD_PAGE_EVENTS);
      for (const line of lines) {
        if (TRACE_TYPE_MARKS.some((mark) => line.includes(mark)))
          tree.add(JSON.parse(line) as AgentEvent);
      }
      if (through <= after) break;
      after = through;
    }
    return tree;
  }
}
