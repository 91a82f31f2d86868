// Every event of a run, addressed by seq (row i is seq firstSeq + i), held as pages of
// EVENT_PAGE_SIZE. Only the pages in use are kept: the least recently used go past MAX_PAGES, and
// are fetched again (?after=) when the reader scrolls back to them. Retention drops a run's oldest
// events as whole segments, so a page that comes back short at its start means every seq below the
// first one returned is gone: firstSeq moves up and the owner is told (onTruncated).
import type { AgentEvent } from '../shared/types.ts';
import { apiJson, runPath } from './api-client.ts';
import type { TimelineSource } from './timeline-source.ts';

export const EVENT_PAGE_SIZE = 500;
const MAX_PAGES = 24;

interface Page {
  events: (AgentEvent | undefined)[];
  /** Seqs up to this were asked of the server; a hole at or below it is an event it does not have. */
  fetchedThrough: number;
  loading: boolean;
  usedAt: number;
}

export class EventPages implements TimelineSource {
  #runId: string;
  #pages = new Map<number, Page>();
  #onLoaded: () => void;
  #onTruncated: (firstSeq: number) => void;
  #clock = 0;
  firstSeq: number;
  lastSeq: number;

  constructor(
    runId: string,
    firstSeq: number,
    lastSeq: number,
    onLoaded: () => void,
    /** A page showed that the events below `firstSeq` were removed by retention. */
    onTruncated: (firstSeq: number) => void,
  ) {
    this.#runId = runId;
    this.firstSeq = Math.max(1, firstSeq);
    this.lastSeq = lastSeq;
    this.#onLoaded = onLoaded;
    this.#onTruncated = onTruncated;
  }

  /** The log now starts at `firstSeq`; returns how many rows that removed from the top. */
  truncate(firstSeq: number): number {
    if (firstSeq <= this.firstSeq) return 0;
    const before = this.count;
    this.firstSeq = firstSeq;
    for (const pageNo of this.#pages.keys()) {
      if ((pageNo + 1) * EVENT_PAGE_SIZE < firstSeq) this.#pages.delete(pageNo);
    }
    return before - this.count;
  }

  get count(): number {
    return Math.max(0, this.lastSeq - this.firstSeq + 1);
  }

  /** Events held in memory now. */
  get held(): number {
    let n = 0;
    for (const page of this.#pages.values()) n += page.events.length;
    return n;
  }

  #page(pageNo: number): Page {
    let page = this.#pages.get(pageNo);
    if (!page) {
      page = { events: [], fetchedThrough: 0, loading: false, usedAt: 0 };
      this.#pages.set(pageNo, page);
    }
    page.usedAt = ++this.#clock;
    return page;
  }

  at(index: number): AgentEvent | undefined {
    const seq = this.firstSeq + index;
    const page = this.#pages.get(Math.floor((seq - 1) / EVENT_PAGE_SIZE));
    if (!page) return undefined;
    page.usedAt = ++this.#clock;
    return page.events[(seq - 1) % EVENT_PAGE_SIZE];
  }

  indexOfSeq(seq: number): number {
    return seq >= this.firstSeq && seq <= this.lastSeq ? seq - this.firstSeq : -1;
  }

  append(event: AgentEvent): boolean {
    const pageNo = Math.floor((event.seq - 1) / EVENT_PAGE_SIZE);
    // Live events fill new pages even when nothing is drawn (a hidden tab), so bound them here too.
    if (!this.#pages.has(pageNo)) queueMicrotask(() => this.#evict());
    const page = this.#page(pageNo);
    page.events[(event.seq - 1) % EVENT_PAGE_SIZE] = event;
    if (event.seq <= this.lastSeq) return false;
    this.lastSeq = event.seq;
    return true;
  }

  ensure(first: number, last: number): void {
    if (this.count === 0) return;
    const from = this.firstSeq + Math.max(0, first);
    const to = this.firstSeq + Math.min(this.count - 1, last);
    for (
      let pageNo = Math.floor((from - 1) / EVENT_PAGE_SIZE);
      pageNo * EVENT_PAGE_SIZE < to;
      pageNo++
    ) {
      const page = this.#page(pageNo);
      if (page.loading) continue;
      const start = pageNo * EVENT_PAGE_SIZE + 1;
      const end = Math.min(start + EVENT_PAGE_SIZE - 1, this.lastSeq);
      let missing = false;
      for (let seq = Math.max(start, from); seq <= Math.min(end, to); seq++) {
        if (!page.events[seq - start] && seq > page.fetchedThrough) {
          missing = true;
          break;
        }
      }
      if (missing) void this.#load(pageNo, page, end);
    }
  }

  async #load(pageNo: number, page: Page, through: number): Promise<void> {
    page.loading = true;
    try {
      const start = pageNo * EVENT_PAGE_SIZE + 1;
      const events = await apiJson<AgentEvent[]>(
        runPath(this.#runId, `/events?after=${start - 1}&limit=${EVENT_PAGE_SIZE}`),
      );
      for (const event of events) {
        const offset = event.seq - start;
        if (offset >= 0 && offset < EVENT_PAGE_SIZE) page.events[offset] = event;
      }
      page.fetchedThrough = Math.max(page.fetchedThrough, through);
      // Seqs up to `through` were written before we asked, so any the server no longer has at the
      // start of the answer were removed by retention, and so was everything older.
      const kept = events[0]?.seq ?? through + 1;
      if (kept > start && kept > this.firstSeq) this.#onTruncated(kept);
      this.#evict();
      this.#onLoaded();
    } catch {
      // Left unfetched: the next render asks again (the stream's reconnect says what is wrong).
    } finally {
      page.loading = false;
    }
  }

  #evict(): void {
    if (this.#pages.size <= MAX_PAGES) return;
    const newest = Math.floor((this.lastSeq - 1) / EVENT_PAGE_SIZE);
    const byAge = [...this.#pages.entries()]
      .filter(([pageNo, page]) => !page.loading && pageNo !== newest)
      .sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [pageNo] of byAge.slice(0, this.#pages.size - MAX_PAGES)) this.#pages.delete(pageNo);
  }

  note(): string {
    return '';
  }
}
