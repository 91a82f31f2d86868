// The events of a run that match a filter, newest first loaded: the server answers the filter over
// the whole run (?before=&type=&level=&q=), older matches load as the reader scrolls up, and live
// events that match are appended.
import type { AgentEvent } from '../shared/types.ts';
import { apiJson, runPath } from './api-client.ts';
import { filterQuery, matchesFilter, type EventFilter } from './event-filter.ts';
import type { TimelineSource } from './timeline-source.ts';

const FILTER_PAGE_SIZE = 2000;
const MAX_MATCHES_HELD = 20_000;
/** Start loading older matches when the reader is this close to the top. */
const PREFETCH_ROWS = 100;

export class FilteredEvents implements TimelineSource {
  #runId: string;
  #filter: EventFilter;
  #events: AgentEvent[] = [];
  #oldestAsked: number;
  #hasOlder = true;
  #loading = false;
  #onLoaded: (prepended: number) => void;
  /** Set once the first page is in, so "no matches" is not said while still looking. */
  settled = false;

  constructor(
    runId: string,
    filter: EventFilter,
    beforeSeq: number,
    /** Rows were added (> 0) or removed (< 0) at the top; 0 when only the state changed. */
    onLoaded: (prepended: number) => void,
  ) {
    this.#runId = runId;
    this.#filter = filter;
    this.#oldestAsked = beforeSeq;
    this.#onLoaded = onLoaded;
    void this.#loadOlder();
  }

  get count(): number {
    return this.#events.length;
  }

  at(index: number): AgentEvent | undefined {
    return this.#events[index];
  }

  indexOfSeq(seq: number): number {
    let lo = 0;
    let hi = this.#events.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = this.#events[mid]!.seq;
      if (at === seq) return mid;
      if (at < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  append(event: AgentEvent): boolean {
    if (!matchesFilter(event, this.#filter)) return false;
    const last = this.#events[this.#events.length - 1];
    if (last && last.seq >= event.seq) return false;
    this.#events.push(event);
    if (this.#events.length > MAX_MATCHES_HELD + FILTER_PAGE_SIZE) {
      // Drop the oldest matches; they load again (?before=) if the reader scrolls back to them.
      const dropped = this.#events.splice(0, FILTER_PAGE_SIZE);
      this.#oldestAsked = this.#events[0]!.seq;
      this.#hasOlder = true;
      queueMicrotask(() => this.#onLoaded(-dropped.length));
    }
    return true;
  }

  ensure(first: number): void {
    if (first < PREFETCH_ROWS) void this.#loadOlder();
  }

  async #loadOlder(): Promise<void> {
    if (this.#loading || !this.#hasOlder || this.#events.length >= MAX_MATCHES_HELD) return;
    if (this.#oldestAsked <= 1) {
      this.#hasOlder = false;
      this.settled = true;
      this.#onLoaded(0);
      return;
    }
    this.#loading = true;
    try {
      const params = filterQuery(this.#filter);
      params.set('before', String(this.#oldestAsked));
      params.set('limit', String(FILTER_PAGE_SIZE));
      const page = await apiJson<AgentEvent[]>(runPath(this.#runId, `/events?${params}`));
      this.#hasOlder = page.length === FILTER_PAGE_SIZE;
      if (page.length > 0) this.#oldestAsked = page[0]!.seq;
      const oldestHeld = this.#events[0]?.seq ?? Infinity;
      const older = page.filter((e) => e.seq < oldestHeld && matchesFilter(e, this.#filter));
      this.#events.unshift(...older);
      this.settled = true;
      this.#loading = false;
      this.#onLoaded(older.length);
      // A page may hold no match when the server could not apply the whole filter ("other").
      if (older.length === 0 && this.#hasOlder) void this.#loadOlder();
    } catch {
      this.#loading = false;
    }
  }

  note(): string {
    if (this.#events.length >= MAX_MATCHES_HELD && this.#hasOlder) {
      return `Showing the newest ${MAX_MATCHES_HELD.toLocaleString('en-US')} matches; narrow the filter to reach older ones.`;
    }
    return '';
  }

  get loading(): boolean {
    return this.#loading;
  }
}
