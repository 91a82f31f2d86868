// Each run's span tree, kept as events are written (a store listener), so answering /spans never
// re-reads the run. A tree is built from the run's stored events the first time the run's spans
// are asked for, which is also how trees come back after a restart; only the most recently used
// MAX_LOADED_TREES stay in memory, so touching every run of a large store stays bounded.
import { SpanTree } from '../shared/span-tree.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
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
  /** The encoded /spans answer of an ended run, while its tree has not changed. */
  #answers = new Map<string, { version: number; status: string; body: Buffer }>();
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
    this.#answers.delete(id);
  }

  /**
   * The run's spans as JSON. An ended run's answer is kept until its tree changes: nothing in it
   * moves with the clock, and reopening a big trace then costs no snapshot.
   */
  spansJson(run: Run): Buffer {
    const tree = this.tree(run.id);
    const kept = this.#answers.get(run.id);
    if (kept && kept.version === tree.version && kept.status === run.status) return kept.body;
    const body = Buffer.from(JSON.stringify(tree.spans(run.status)));
    if (isTerminal(run.status))
      this.#answers.set(run.id, { version: tree.version, status: run.status, body });
    else this.#answers.delete(run.id);
    return body;
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
    if (this.#trees.size > this.#maxLoaded) {
      const oldest = this.#trees.keys().next().value!;
      this.#trees.delete(oldest);
      this.#answers.delete(oldest);
    }
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
