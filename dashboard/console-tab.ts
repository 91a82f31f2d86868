// The Console tab: a run's agent.stdout / agent.stderr as a terminal shows them. Every line of
// every event (merged events expanded back into their lines, numbered as the process printed them),
// stderr marked, ANSI colours rendered, follow-the-end with "N new ↓", and a search over every line
// held. The tab appears only for runs that have printed something.
import { EVENTS_MAX_LIMIT } from '../shared/constants.ts';
import {
  isOutputEvent,
  OUTPUT_EVENT_TYPES,
  outputLinesOf,
  type OutputLine,
  type OutputStreamName,
} from '../shared/output-lines.ts';
import type { AgentEvent } from '../shared/types.ts';
import { renderAnsi, stripAnsi } from './ansi-text.ts';
import { apiJson, runPath } from './api-client.ts';
import { element } from './element.ts';
import { formatCount } from './format.ts';
import type { RunTabFactory } from './run-tab.ts';
import { VirtualList } from './virtual-list.ts';

export const CONSOLE_ROW_HEIGHT_PX = 18;
/** Past this many lines the oldest are let go (the note says how many). */
const MAX_CONSOLE_LINES = 200_000;
const SEARCH_DEBOUNCE_MS = 200;
const OUTPUT_QUERY = `type=${OUTPUT_EVENT_TYPES.join(',')}`;
/** The "has this run any output?" probe waits this long after the view opens (see below). */
const PROBE_DELAY_MS = 1500;

class ConsoleView {
  readonly element: HTMLElement;
  readonly search: HTMLInputElement;
  #runId: string;
  #lines: OutputLine[] = [];
  /** Indexes into #lines that match the search; undefined when not searching. */
  #matches: number[] | undefined;
  #query = '';
  #dropped = 0;
  #list: VirtualList;
  #viewport: HTMLElement;
  #note: HTMLElement;
  #count: HTMLElement;
  #newButton: HTMLButtonElement;
  #newCount = 0;
  #state: 'idle' | 'loading' | 'ready' = 'idle';
  #pending: AgentEvent[] = [];
  #lastSeq = 0;
  /** Per stream, the line whose next piece is still to come. */
  #open: Record<OutputStreamName, OutputLine | undefined> = {
    stdout: undefined,
    stderr: undefined,
  };

  constructor(runId: string) {
    this.#runId = runId;
    this.search = element('input', {
      type: 'search',
      class: 'console-search',
      placeholder: 'Search output  /',
      'aria-label': 'Search every line of output',
      spellcheck: 'false',
    });
    let debounce: ReturnType<typeof setTimeout> | undefined;
    this.search.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.#setQuery(this.search.value), SEARCH_DEBOUNCE_MS);
    });
    this.#count = element('span', { class: 'console-count', role: 'status' });
    this.#viewport = element('div', {
      class: 'console-lines',
      role: 'log',
      tabindex: '0',
      'aria-label': 'Process output',
    });
    this.#note = element('div', { class: 'timeline-note', role: 'status' });
    this.#newButton = element('button', {
      type: 'button',
      class: 'new-events',
      hidden: true,
      'aria-label': 'Jump to the newest output',
    });
    this.#newButton.addEventListener('click', () => {
      this.#setNewCount(0);
      this.#list.scrollToEnd();
    });
    this.element = element(
      'section',
      { class: 'console', 'aria-label': 'Console' },
      element('div', { class: 'timeline-toolbar console-toolbar' }, this.search, this.#count),
      element('div', { class: 'timeline-body' }, this.#viewport, this.#note, this.#newButton),
    );
    this.#list = new VirtualList({
      viewport: this.#viewport,
      rowHeight: CONSOLE_ROW_HEIGHT_PX,
      createRow: () =>
        element(
          'div',
          { class: 'console-line' },
          element('span', { class: 'console-gutter' }),
          element('span', { class: 'console-text' }),
        ),
      renderRow: (row, index) => this.#renderRow(row, index),
      onUserScroll: (atEnd) => {
        if (atEnd) this.#setNewCount(0);
      },
    });
    this.#viewport.addEventListener('keydown', (event) => {
      if (event.key === 'End') {
        event.preventDefault();
        this.#list.scrollToEnd();
      } else if (event.key === 'Home') {
        event.preventDefault();
        this.#list.scrollToStart();
      }
    });
    this.#update();
  }

  #renderRow(row: HTMLElement, index: number): void {
    const lineIndex = this.#matches ? this.#matches[index] : index;
    const line = lineIndex === undefined ? undefined : this.#lines[lineIndex];
    const [gutter, text] = row.children as unknown as HTMLElement[];
    row.className = `console-line${line?.stream === 'stderr' ? ' stderr' : ''}`;
    row.dataset.line = line ? String(line.line) : '';
    row.dataset.stream = line?.stream ?? '';
    gutter!.textContent = line ? String(line.line) : '';
    gutter!.title = line ? `${line.stream} line ${line.line} · event ${line.seq}` : '';
    renderAnsi(text!, line?.text ?? '');
  }

  focus(): void {
    this.#viewport.focus();
  }

  /** Loads every output event the run has so far (page by page), then follows the stream. */
  async start(beforeSeq: number): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'loading';
    this.#update();
    try {
      let after = 0;
      for (;;) {
        const page = await apiJson<AgentEvent[]>(
          runPath(this.#runId, `/events?${OUTPUT_QUERY}&after=${after}&limit=${EVENTS_MAX_LIMIT}`),
        );
        for (const event of page) if (event.seq < beforeSeq) this.#take(event);
        const last = page.at(-1)?.seq ?? beforeSeq;
        if (page.length < EVENTS_MAX_LIMIT || last >= beforeSeq) break;
        after = last;
      }
      this.#state = 'ready';
      const pending = this.#pending;
      this.#pending = [];
      for (const event of pending) this.#take(event);
    } catch (error) {
      this.#state = 'idle';
      this.#note.textContent = `Could not load the output: ${error instanceof Error ? error.message : String(error)}`;
      this.#note.hidden = false;
      return;
    }
    this.#refresh();
  }

  receive(event: AgentEvent): void {
    if (!isOutputEvent(event)) return;
    if (this.#state === 'loading') this.#pending.push(event);
    else if (this.#state === 'ready') {
      const before = this.#shownCount();
      this.#take(event);
      const added = this.#shownCount() - before;
      this.#list.setCount(this.#shownCount());
      if (added > 0 && !this.#list.follow) this.#setNewCount(this.#newCount + added);
      this.#update();
    }
  }

  #take(event: AgentEvent): void {
    if (event.seq <= this.#lastSeq) return;
    this.#lastSeq = event.seq;
    for (const line of outputLinesOf(event)) {
      // The next piece of a line cut in pieces goes on that line, as the process printed it.
      const open = this.#open[line.stream];
      if (open && open.line === line.line) {
        open.text += line.text;
        open.continues = line.continues;
        this.#open[line.stream] = line.continues ? open : undefined;
        const index = this.#lines.lastIndexOf(open);
        const lastMatch = this.#matches?.at(-1) ?? -1;
        if (this.#matches && index > lastMatch && this.#isMatch(open)) this.#matches.push(index);
        continue;
      }
      this.#lines.push(line);
      this.#open[line.stream] = line.continues ? line : undefined;
      if (this.#matches && this.#isMatch(line)) this.#matches.push(this.#lines.length - 1);
    }
    const over = this.#lines.length - MAX_CONSOLE_LINES;
    if (over > 0) {
      this.#lines.splice(0, over);
      this.#dropped += over;
      if (this.#matches) this.#matches = this.#matches.map((i) => i - over).filter((i) => i >= 0);
    }
  }

  #isMatch(line: OutputLine): boolean {
    return stripAnsi(line.text).toLowerCase().includes(this.#query);
  }

  #shownCount(): number {
    return this.#matches?.length ?? this.#lines.length;
  }

  #setQuery(value: string): void {
    this.#query = value.trim().toLowerCase();
    this.#matches = undefined;
    if (this.#query) {
      const matches: number[] = [];
      this.#lines.forEach((line, index) => {
        if (this.#isMatch(line)) matches.push(index);
      });
      this.#matches = matches;
    }
    this.#refresh();
  }

  #refresh(): void {
    this.#setNewCount(0);
    this.#list.follow = true;
    this.#list.setCount(this.#shownCount());
    this.#list.invalidate();
    this.#update();
  }

  #update(): void {
    const total = this.#lines.length;
    this.#count.textContent = this.#matches
      ? `${formatCount(this.#matches.length)} of ${formatCount(total)} lines`
      : `${formatCount(total)} ${total === 1 ? 'line' : 'lines'}`;
    let note = '';
    if (this.#state === 'loading') note = 'Loading output…';
    else if (this.#matches && this.#matches.length === 0) note = 'No line matches this search.';
    else if (total === 0) note = 'No output yet. Lines appear here as the process prints them.';
    else if (this.#dropped > 0)
      note = `${formatCount(this.#dropped)} earliest lines are not held here; export the run to read them`;
    this.#note.textContent = note;
    this.#note.hidden = note === '';
    this.#note.classList.toggle('console-dropped', this.#dropped > 0 && total > 0);
  }

  #setNewCount(count: number): void {
    this.#newCount = count;
    this.#newButton.hidden = count === 0;
    this.#newButton.textContent = `${formatCount(count)} new ↓`;
  }

  invalidate(): void {
    this.#list.invalidate();
  }
}

export const consoleTab: RunTabFactory = (context) => {
  const view = new ConsoleView(context.runId);
  let available = false;
  const reveal = () => {
    if (available) return;
    available = true;
    context.setAvailable(true);
  };
  // Only runs that printed something get the tab: the first line that arrives, or one probe. The
  // probe can scan the whole run on the server, so it waits until the run's first page is drawn.
  const probe = setTimeout(() => {
    if (available) return;
    apiJson<AgentEvent[]>(
      runPath(context.runId, `/events?${OUTPUT_QUERY}&before=${context.receivedSeq() + 1}&limit=1`),
    )
      .then((found) => {
        if (found.length > 0) reveal();
      })
      .catch(() => undefined);
  }, PROBE_DELAY_MS);
  return {
    id: 'console',
    element: view.element,
    label: () => 'Console',
    initiallyAvailable: false,
    search: view.search,
    show: () => void view.start(context.receivedSeq() + 1),
    receive: (event) => {
      if (!isOutputEvent(event)) return;
      reveal();
      view.receive(event);
    },
    render: () => view.invalidate(),
    focus: () => view.focus(),
    close: () => clearTimeout(probe),
  };
};
