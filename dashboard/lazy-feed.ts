// Loads the newest events of one kind for a panel (tool calls, metrics) the first time it is shown,
// then keeps it fed from the live stream; events arriving during the load wait so order is kept.
import type { AgentEvent } from '../shared/types.ts';
import { apiJson, runPath } from './api-client.ts';

const FEED_LIMIT = 5000;

export class LazyFeed {
  #state: 'idle' | 'loading' | 'ready' = 'idle';
  #pending: AgentEvent[] = [];
  #lastSeq = 0;
  #runId: string;
  #queries: string[];
  #accept: (event: AgentEvent) => boolean;
  #onEvents: (events: AgentEvent[]) => void;

  /** `queries`: event filters (e.g. "type=tool.*"); each loads its newest FEED_LIMIT matches. */
  constructor(
    runId: string,
    queries: string[],
    accept: (event: AgentEvent) => boolean,
    onEvents: (events: AgentEvent[]) => void,
  ) {
    this.#runId = runId;
    this.#queries = queries;
    this.#accept = accept;
    this.#onEvents = onEvents;
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  async start(beforeSeq: number): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'loading';
    try {
      const pages = await Promise.all(
        this.#queries.map((query) =>
          apiJson<AgentEvent[]>(
            runPath(this.#runId, `/events?${query}&before=${beforeSeq}&limit=${FEED_LIMIT}`),
          ),
        ),
      );
      const bySeq = new Map<number, AgentEvent>();
      for (const event of pages.flat()) if (this.#accept(event)) bySeq.set(event.seq, event);
      const loaded = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
      this.#lastSeq = loaded[loaded.length - 1]?.seq ?? 0;
      const later = this.#pending.filter((event) => event.seq > this.#lastSeq);
      this.#pending = [];
      this.#state = 'ready';
      this.#onEvents(loaded);
      this.add(...later);
    } catch {
      this.#state = 'idle';
      this.#pending = [];
    }
  }

  add(...events: AgentEvent[]): void {
    if (this.#state === 'idle') return;
    const accepted = events.filter((event) => this.#accept(event));
    if (accepted.length === 0) return;
    if (this.#state === 'loading') this.#pending.push(...accepted);
    else {
      const fresh = accepted.filter((event) => event.seq > this.#lastSeq);
      if (fresh.length === 0) return;
      this.#lastSeq = fresh[fresh.length - 1]!.seq;
      this.#onEvents(fresh);
    }
  }
}
