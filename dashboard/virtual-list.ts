// A list of fixed-height rows of which only the visible ones (plus a little overscan) exist in the
// DOM. The scrollbar stands for the whole list; past MAX_SCROLL_PX the mapping from scroll offset
// to row becomes proportional, so a list of any length still fits a browser's element height limit.
const MAX_SCROLL_PX = 10_000_000;
const OVERSCAN_ROWS = 8;

export interface VirtualListOptions {
  viewport: HTMLElement;
  rowHeight: number;
  createRow(): HTMLElement;
  renderRow(row: HTMLElement, index: number): void;
  /** After each render, with the visible range, so the owner can load what is missing. */
  onRender?(first: number, last: number): void;
  /** A scroll the user made (not one of ours). */
  onUserScroll?(atEnd: boolean): void;
}

export class VirtualList {
  #options: VirtualListOptions;
  #spacer: HTMLElement;
  #rows = new Map<number, HTMLElement>();
  #count = 0;
  #frame = 0;
  #dirty = true;
  /** Where our own last scroll put the viewport, until its scroll event arrives. */
  #ourScrollTop: number | undefined;
  /** Keep the last row in view as rows are added. */
  follow = true;

  constructor(options: VirtualListOptions) {
    this.#options = options;
    this.#spacer = document.createElement('div');
    this.#spacer.className = 'vlist-spacer';
    options.viewport.append(this.#spacer);
    options.viewport.addEventListener('scroll', () => {
      const top = options.viewport.scrollTop;
      // (A reader scrolling to the very top is theirs too: no sentinel value may look like 0.)
      if (this.#ourScrollTop === undefined || Math.abs(top - this.#ourScrollTop) > 1) {
        this.follow = this.atEnd();
        options.onUserScroll?.(this.follow);
      }
      this.#ourScrollTop = undefined;
      this.render();
    });
    new ResizeObserver(() => this.schedule()).observe(options.viewport);
  }

  get count(): number {
    return this.#count;
  }

  setCount(count: number): void {
    if (count === this.#count) return;
    this.#count = count;
    this.schedule();
  }

  /** Re-render every visible row on the next frame (their data changed). */
  invalidate(): void {
    this.#dirty = true;
    this.schedule();
  }

  /** Draws on the next frame; nothing while the tab is hidden (the owner's catchUp() redraws). */
  schedule(): void {
    if (this.#frame || document.hidden) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.render();
    });
  }

  #geometry() {
    const viewportHeight = this.#options.viewport.clientHeight;
    const rowHeight = this.#options.rowHeight;
    const total = this.#count * rowHeight;
    const spacerHeight = Math.min(total, MAX_SCROLL_PX);
    const maxScroll = Math.max(0, spacerHeight - viewportHeight);
    const maxFirst = Math.max(0, this.#count - viewportHeight / rowHeight);
    return { viewportHeight, rowHeight, spacerHeight, maxScroll, maxFirst };
  }

  atEnd(): boolean {
    const { maxScroll, rowHeight } = this.#geometry();
    return this.#options.viewport.scrollTop >= maxScroll - rowHeight / 2;
  }

  #scrollTo(top: number): void {
    const viewport = this.#options.viewport;
    const before = viewport.scrollTop;
    viewport.scrollTop = top;
    if (viewport.scrollTop !== before) this.#ourScrollTop = viewport.scrollTop;
  }

  scrollToEnd(): void {
    this.follow = true;
    this.render();
  }

  scrollToStart(): void {
    this.follow = false;
    this.#scrollTo(0);
    this.render();
  }

  /** Scrolls the least needed to show row `index`. */
  scrollToIndex(index: number): void {
    const { viewportHeight, rowHeight, maxScroll, maxFirst } = this.#geometry();
    const ratio = maxFirst > 0 ? maxScroll / maxFirst : 0;
    const first = maxFirst > 0 ? this.#options.viewport.scrollTop / ratio : 0;
    const visibleRows = viewportHeight / rowHeight;
    let target = first;
    if (index < first) target = index;
    else if (index + 1 > first + visibleRows) target = index + 1 - visibleRows;
    if (target !== first) this.#scrollTo(target * ratio);
    this.follow = this.atEnd();
    this.render();
  }

  /** Keeps the same rows under the reader after `rows` were inserted above them. */
  shiftBy(rows: number): void {
    const { rowHeight, maxScroll, maxFirst } = this.#geometry();
    this.#spacer.style.height = `${Math.min(this.#count * rowHeight, MAX_SCROLL_PX)}px`;
    const ratio = maxFirst > 0 ? maxScroll / maxFirst : rowHeight;
    this.#scrollTo(this.#options.viewport.scrollTop + rows * ratio);
    this.#dirty = true;
    this.render();
  }

  visibleRange(): [number, number] {
    const { viewportHeight, rowHeight, maxScroll, maxFirst } = this.#geometry();
    const firstFloat =
      maxScroll > 0 ? (this.#options.viewport.scrollTop * maxFirst) / maxScroll : 0;
    const first = Math.floor(firstFloat);
    const last = Math.min(this.#count - 1, Math.ceil(firstFloat + viewportHeight / rowHeight) - 1);
    return [first, last];
  }

  render(): void {
    if (this.#frame) {
      cancelAnimationFrame(this.#frame);
      this.#frame = 0;
    }
    const { viewportHeight, rowHeight, spacerHeight, maxScroll, maxFirst } = this.#geometry();
    this.#spacer.style.height = `${spacerHeight}px`;
    if (this.follow && this.#options.viewport.scrollTop < maxScroll) this.#scrollTo(maxScroll);
    const scrollTop = Math.min(this.#options.viewport.scrollTop, maxScroll);
    const firstFloat = maxScroll > 0 ? (scrollTop * maxFirst) / maxScroll : 0;
    const first = Math.max(0, Math.floor(firstFloat) - OVERSCAN_ROWS);
    const last = Math.min(
      this.#count - 1,
      Math.ceil(firstFloat + viewportHeight / rowHeight) + OVERSCAN_ROWS,
    );

    const free: HTMLElement[] = [];
    for (const [index, row] of this.#rows) {
      if (index < first || index > last) {
        this.#rows.delete(index);
        free.push(row);
      }
    }
    for (let index = first; index <= last; index++) {
      let row = this.#rows.get(index);
      const fresh = row === undefined;
      if (!row) {
        row = free.pop() ?? this.#spacer.appendChild(this.#options.createRow());
        this.#rows.set(index, row);
      }
      if (fresh || this.#dirty) this.#options.renderRow(row, index);
      row.style.transform = `translateY(${Math.round(scrollTop + (index - firstFloat) * rowHeight)}px)`;
    }
    for (const row of free) row.remove();
    this.#dirty = false;
    if (this.#count > 0) {
      const visibleFirst = Math.max(0, Math.floor(firstFloat));
      const visibleLast = Math.min(
        this.#count - 1,
        Math.ceil(firstFloat + viewportHeight / rowHeight),
      );
      this.#options.onRender?.(visibleFirst, visibleLast);
    }
  }
}
