// The run's events as a live, virtualised log: filter chips and search (answered by the server),
// follow-the-end with "N new ↓" when the reader scrolls up, and "Freeze view" that holds the view
// while buffering what arrives ("Follow" shows it all and follows again). When retention has
// removed a run's oldest events the list starts at the first one kept, under a notice saying how
// many went.
import { LEVELS } from '../shared/constants.ts';
import type { AgentEvent, Level } from '../shared/types.ts';
import { element } from './element.ts';
import { EventPages } from './event-pages.ts';
import {
  emptyFilter,
  FAMILIES,
  isFiltering,
  type EventFilter,
  type Family,
} from './event-filter.ts';
import { createEventRow, renderEventRow, ROW_HEIGHT_PX } from './event-row.ts';
import { FilteredEvents } from './filtered-events.ts';
import type { TimelineSource } from './timeline-source.ts';
import { VirtualList } from './virtual-list.ts';

/** Past this many buffered events a paused view keeps only the newest seq and reloads on resume. */
const MAX_BUFFERED_EVENTS = 50_000;
const SEARCH_DEBOUNCE_MS = 250;

export interface TimelineOptions {
  runId: string;
  runStartedAt: string;
  lastSeq: number;
  onSelect(event: AgentEvent | undefined): void;
}

export class Timeline {
  readonly element: HTMLElement;
  readonly search: HTMLInputElement;
  #options: TimelineOptions;
  #list: VirtualList;
  #source!: TimelineSource;
  #filter: EventFilter = emptyFilter();
  #viewport: HTMLElement;
  #newButton: HTMLButtonElement;
  #pauseButton: HTMLButtonElement;
  #note: HTMLElement;
  #retentionNotice: HTMLElement;
  /** The run's first seq the server still holds (above 1 once retention removed events). */
  #firstSeq = 1;
  #newCount = 0;
  #paused = false;
  #buffer: AgentEvent[] = [];
  #bufferOverflow = false;
  /** The newest seq received from the stream (shown or buffered). */
  #lastSeq: number;
  #selectedSeq: number | undefined;

  constructor(options: TimelineOptions) {
    this.#options = options;
    this.#lastSeq = options.lastSeq;

    const families = element('div', {
      class: 'chips',
      role: 'group',
      'aria-label': 'Filter events by type family',
    });
    for (const family of FAMILIES) families.append(this.#chip(family, 'family', family));
    const levels = element('div', {
      class: 'chips',
      role: 'group',
      'aria-label': 'Filter events by level',
    });
    for (const level of LEVELS) levels.append(this.#chip(level, 'level', level));

    this.search = element('input', {
      type: 'search',
      class: 'event-search',
      placeholder: 'Search events  /',
      'aria-label': 'Search events in this run',
      spellcheck: 'false',
    });
    let debounce: ReturnType<typeof setTimeout> | undefined;
    this.search.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        this.#filter.text = this.search.value;
        this.#openSource();
      }, SEARCH_DEBOUNCE_MS);
    });

    // Not the run's Pause in the header: this one only holds what is drawn. Both labels sit in the
    // same grid cell (one invisible), so the button is as wide as the longer and never changes width.
    this.#pauseButton = element(
      'button',
      {
        type: 'button',
        class: 'pause-view',
        'aria-label': 'Freeze the view',
        'aria-pressed': 'false',
        title: 'Hold the event list still; the run itself keeps going',
      },
      element('span', { class: 'label-freeze', text: 'Freeze view' }),
      element('span', { class: 'label-follow', text: 'Follow' }),
    );
    this.#pauseButton.addEventListener('click', () => this.setPaused(!this.#paused));

    this.#viewport = element('div', {
      class: 'event-list',
      role: 'list',
      tabindex: '0',
      'aria-label': 'Events',
    });
    this.#newButton = element('button', {
      type: 'button',
      class: 'new-events',
      hidden: true,
      'aria-label': 'Jump to the newest events',
    });
    this.#newButton.addEventListener('click', () => this.scrollToEnd());
    this.#note = element('div', { class: 'timeline-note', role: 'status' });
    this.#retentionNotice = element('div', {
      class: 'retention-notice',
      role: 'status',
      hidden: true,
    });

    this.element = element(
      'section',
      { class: 'timeline', 'aria-label': 'Timeline' },
      element(
        'div',
        { class: 'timeline-toolbar' },
        families,
        levels,
        element('div', { class: 'timeline-search' }, this.search, this.#pauseButton),
      ),
      element(
        'div',
        { class: 'timeline-body' },
        this.#retentionNotice,
        this.#viewport,
        this.#note,
        this.#newButton,
      ),
    );

    this.#list = new VirtualList({
      viewport: this.#viewport,
      rowHeight: ROW_HEIGHT_PX,
      createRow: () => {
        const row = createEventRow();
        row.addEventListener('click', () => {
          const seq = Number(row.dataset.seq);
          if (seq) this.selectSeq(seq);
        });
        return row;
      },
      renderRow: (row, index) => {
        const event = this.#source.at(index);
        const placeholderSeq =
          this.#source instanceof EventPages ? this.#source.firstSeq + index : undefined;
        const seq = event?.seq ?? placeholderSeq;
        renderEventRow(
          row,
          event,
          placeholderSeq,
          this.#options.runStartedAt,
          seq === this.#selectedSeq,
        );
      },
      onRender: (first, last) => this.#source.ensure(first, last),
      onUserScroll: (atEnd) => {
        if (atEnd) this.#setNewCount(0);
      },
    });
    this.#viewport.addEventListener('keydown', (event) => {
      if (event.key === 'Home') {
        event.preventDefault();
        this.scrollToStart();
      } else if (event.key === 'End') {
        event.preventDefault();
        this.scrollToEnd();
      }
    });
    this.#openSource();
  }

  #chip(label: string, kind: 'family' | 'level', value: string): HTMLButtonElement {
    const chip = element('button', {
      type: 'button',
      class: `chip ${kind === 'family' ? `fam-${value}` : `lvl-${value}`}`,
      'aria-pressed': 'false',
      'aria-label': `Show only ${kind === 'family' ? `${label} events` : `level ${label}`}`,
      'data-filter': `${kind}:${value}`,
      text: label,
    });
    chip.addEventListener('click', () => {
      const set = (kind === 'family' ? this.#filter.families : this.#filter.levels) as Set<string>;
      if (set.has(value)) set.delete(value);
      else set.add(value);
      chip.setAttribute('aria-pressed', String(set.has(value)));
      this.#openSource();
    });
    return chip;
  }

  /** (Re)builds the row source for the current filter, showing the newest events. */
  #openSource(): void {
    if (isFiltering(this.#filter)) {
      const source = new FilteredEvents(
        this.#options.runId,
        this.#filter,
        this.#shownLastSeq() + 1,
        (prepended) => {
          if (this.#source !== source) return;
          this.#list.setCount(source.count);
          if (prepended !== 0 && !this.#list.follow) this.#list.shiftBy(prepended);
          else this.#list.invalidate();
          this.#updateNote();
        },
      );
      this.#source = source;
    } else {
      this.#source = new EventPages(
        this.#options.runId,
        this.#firstSeq,
        this.#shownLastSeq(),
        () => this.#list.invalidate(),
        (firstSeq) => this.truncate(firstSeq),
      );
    }
    this.#setNewCount(0);
    this.#list.follow = true;
    this.#list.setCount(this.#source.count);
    this.#list.invalidate();
    this.#updateNote();
  }

  #shownLastSeq(): number {
    return this.#paused ? this.#lastSeq - this.#buffer.length : this.#lastSeq;
  }

  #updateNote(): void {
    let text = this.#source.note();
    if (!text && this.#source.count === 0) {
      if (this.#source instanceof FilteredEvents) {
        text =
          this.#source.settled && !this.#source.loading
            ? 'No events match this filter.'
            : 'Searching…';
      } else if (this.#firstSeq <= 1)
        text = 'No events yet. They appear here as the run sends them.';
    }
    this.#note.textContent = text;
    this.#note.hidden = text === '';
  }

  /**
   * Retention removed every event below `firstSeq` (the stream said so, or a page came back short):
   * drop their rows and say how many went.
   */
  truncate(firstSeq: number): void {
    if (firstSeq <= this.#firstSeq) return;
    this.#firstSeq = firstSeq;
    const removed = this.#source instanceof EventPages ? this.#source.truncate(firstSeq) : 0;
    if (this.#selectedSeq !== undefined && this.#selectedSeq < firstSeq) {
      this.#selectedSeq = undefined;
      this.#options.onSelect(undefined);
    }
    this.#list.setCount(this.#source.count);
    if (removed > 0 && !this.#list.follow) this.#list.shiftBy(-removed);
    else this.#list.invalidate();
    const gone = firstSeq - 1;
    this.#retentionNotice.textContent = `${gone.toLocaleString('en-US')} earlier ${
      gone === 1 ? 'event was' : 'events were'
    } removed by retention`;
    this.#retentionNotice.hidden = false;
    this.#updateNote();
  }

  /** The tab is visible again: draw what arrived while it was hidden. */
  catchUp(): void {
    this.#list.invalidate();
  }

  /** An event from the run's stream, in seq order. */
  receive(event: AgentEvent): void {
    if (event.seq <= this.#lastSeq) return;
    this.#lastSeq = event.seq;
    if (this.#paused) {
      if (this.#buffer.length < MAX_BUFFERED_EVENTS) this.#buffer.push(event);
      else this.#bufferOverflow = true;
      this.#updatePauseButton();
      return;
    }
    this.#show(event);
  }

  #show(event: AgentEvent): void {
    if (!this.#source.append(event)) return;
    this.#list.setCount(this.#source.count);
    if (!this.#list.follow) this.#setNewCount(this.#newCount + 1);
    if (this.#source.count === 1) this.#updateNote();
  }

  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    if (paused) {
      this.#paused = true;
    } else {
      this.#paused = false;
      const buffered = this.#buffer;
      this.#buffer = [];
      if (this.#bufferOverflow) {
        this.#bufferOverflow = false;
        this.#openSource();
      } else for (const event of buffered) this.#show(event);
      this.#list.invalidate();
    }
    this.#updatePauseButton();
  }

  get paused(): boolean {
    return this.#paused;
  }

  #updatePauseButton(): void {
    this.#pauseButton.setAttribute('aria-pressed', String(this.#paused));
    this.#pauseButton.setAttribute(
      'aria-label',
      this.#paused ? 'Follow the live events again' : 'Freeze the view',
    );
    this.#pauseButton.classList.toggle('active', this.#paused);
    this.#setNewCount(this.#newCount);
  }

  /** The pill over the list's end: "N new ↓" when scrolled up, "N held · Follow ↓" when frozen. */
  #setNewCount(count: number): void {
    this.#newCount = count;
    const held = this.#lastSeq - this.#shownLastSeq();
    this.#newButton.hidden = count === 0 && !(this.#paused && held > 0);
    this.#newButton.textContent = this.#paused
      ? `${held.toLocaleString('en-US')} held · Follow ↓`
      : `${count.toLocaleString('en-US')} new ↓`;
  }

  scrollToEnd(): void {
    if (this.#paused) this.setPaused(false);
    this.#setNewCount(0);
    this.#list.scrollToEnd();
  }

  scrollToStart(): void {
    this.#list.scrollToStart();
  }

  selectSeq(seq: number | undefined): void {
    this.#selectedSeq = seq;
    const index = seq === undefined ? -1 : this.#source.indexOfSeq(seq);
    if (index >= 0) this.#list.scrollToIndex(index);
    this.#list.invalidate();
    this.#options.onSelect(index >= 0 ? this.#source.at(index) : undefined);
  }

  /** Selects and scrolls to an event fetched elsewhere (e.g. the run's error), loaded or not. */
  reveal(event: AgentEvent): void {
    this.#selectedSeq = event.seq;
    const index = this.#source.indexOfSeq(event.seq);
    if (index >= 0) this.#list.scrollToIndex(index);
    this.#list.invalidate();
    this.#options.onSelect(event);
  }

  /** j / k: the next or previous row, opening it in the inspector. */
  move(delta: number): void {
    const count = this.#source.count;
    if (count === 0) return;
    let index = this.#selectedSeq === undefined ? -1 : this.#source.indexOfSeq(this.#selectedSeq);
    if (index < 0) {
      const [first, last] = this.#list.visibleRange();
      index = delta > 0 ? first : last;
    } else index = Math.min(count - 1, Math.max(0, index + delta));
    const event = this.#source.at(index);
    if (event) this.selectSeq(event.seq);
    else this.#list.scrollToIndex(index);
  }

  focusList(): void {
    this.#viewport.focus();
  }
}
