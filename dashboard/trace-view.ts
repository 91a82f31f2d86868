// The Trace tab: the run's spans as a collapsible tree beside a shared time axis. One bar per span
// (name, a one-line summary of a tool call's arguments, kind, duration, self time); failed spans
// marked; running spans grow in real time and keep their place as children arrive. Drag across
// the axis or the bars to zoom to a time range, Ctrl+wheel zooms around the pointer. Rows are
// virtualised, so any number of spans stays reachable. A click shows the span in full below.
//
// The tree is loaded once from GET /spans (SpanTree.restore) and then fed the run's live events
// after the seq that answer covers, with the same shared/span-tree.ts code the server runs.
import { argsSummary } from '../shared/args-summary.ts';
import { isSpanEnd, isSpanStart, USAGE_REPORT } from '../shared/span-events.ts';
import { SpanTree, type Span } from '../shared/span-tree.ts';
import { SPANS_SEQ_HEADER, tracePath } from '../shared/trace-paths.ts';
import { summarizeRun } from '../shared/trace-summary.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
import { apiFetch } from './api-client.ts';
import { element } from './element.ts';
import { formatCount, formatDuration, formatUsd } from './format.ts';
import { axisTicks, fractionOf, timeAt, zoomAround, type TimeWindow } from './trace-axis.ts';
import { TraceDetail } from './trace-detail.ts';
import { VirtualList } from './virtual-list.ts';

const ROW_HEIGHT_PX = 24;
const INDENT_PX = 14;
/** A drag shorter than this is a click. */
const DRAG_MIN_PX = 5;
/** Ctrl+wheel: the window shrinks or grows by this per wheel step. */
const WHEEL_ZOOM = 1.25;
/** Bars narrower than this are drawn this wide, so a 2-second call in a 2-hour run is visible. */
const MIN_BAR_PX = 2;

function isTraceEvent(event: AgentEvent): boolean {
  return (
    isSpanStart(event.type) ||
    isSpanEnd(event.type) ||
    event.type === 'tool.called' ||
    event.type === 'tool.result' ||
    event.type === USAGE_REPORT
  );
}

interface RowParts {
  row: HTMLElement;
  toggle: HTMLButtonElement;
  kind: HTMLElement;
  name: HTMLElement;
  args: HTMLElement;
  bar: HTMLElement;
  time: HTMLElement;
}

export class TraceView {
  readonly element: HTMLElement;
  #currentRun: () => Run;
  /** The status the rows were built for; a span never ended reads differently once it changes. */
  #builtFor: Run['status'] | undefined;
  #tree: SpanTree | undefined;
  #loading: Promise<void> | undefined;
  /** Trace events that arrived while the snapshot was loading. */
  #early: AgentEvent[] = [];
  #spans: Span[] = [];
  /** Indexes into #spans of the rows shown (collapsed subtrees left out). */
  #visible: number[] = [];
  #hasChildren: boolean[] = [];
  #collapsed = new Set<string>();
  #selected: string | undefined;
  #stale = true;
  /** The zoomed window; undefined follows the whole run (and now, while it is live). */
  #zoom: TimeWindow | undefined;
  #window: TimeWindow = { start: 0, end: 1 };
  #origin = 0;
  #list: VirtualList;
  #viewport: HTMLElement;
  #axis = element('div', { class: 'trace-axis', 'aria-hidden': 'true' });
  #selection = element('div', { class: 'trace-selection', hidden: true });
  #strip = element('div', { class: 'trace-strip', role: 'status' });
  #status = element('p', { class: 'panel-summary trace-status' });
  #zoomLabel = element('span', { class: 'trace-zoom-label' });
  #reset: HTMLButtonElement;
  #detail: TraceDetail;
  #parts = new WeakMap<HTMLElement, RowParts>();
  #drag: { x: number; moved: boolean } | undefined;
  #header: HTMLElement;

  constructor(run: () => Run, onEvent: (event: AgentEvent) => void) {
    this.#currentRun = run;
    this.#detail = new TraceDetail(run().id, onEvent, () => this.select(undefined));
    this.#viewport = element('div', {
      class: 'trace-rows',
      role: 'tree',
      'aria-label': 'Spans',
      tabindex: '0',
    });
    this.#list = new VirtualList({
      viewport: this.#viewport,
      rowHeight: ROW_HEIGHT_PX,
      createRow: () => this.#createRow(),
      renderRow: (row, index) => this.#renderRow(row, index),
    });
    this.#list.follow = false;
    this.#reset = element('button', {
      type: 'button',
      text: 'Whole run',
      'aria-label': 'Zoom out to the whole run',
      disabled: true,
    });
    this.#reset.addEventListener('click', () => this.#setZoom(undefined));
    const zoomOut = element('button', {
      type: 'button',
      text: 'Zoom out',
      'aria-label': 'Zoom out twice as wide',
    });
    zoomOut.addEventListener('click', () => this.#setZoom(zoomAround(this.#window, 0.5, 2)));
    const header = element(
      'div',
      { class: 'trace-header' },
      element(
        'div',
        { class: 'trace-header-label' },
        element('span', { text: 'span' }),
        this.#zoomLabel,
        zoomOut,
        this.#reset,
      ),
      this.#axis,
    );
    this.#header = header;
    const body = element('div', { class: 'trace-body' }, header, this.#viewport, this.#selection);
    this.element = element(
      'section',
      { class: 'trace-view', 'aria-label': 'Trace' },
      this.#strip,
      this.#status,
      body,
      this.#detail.element,
    );
    this.#viewport.addEventListener('click', (event) => this.#onClick(event));
    this.#viewport.addEventListener('keydown', (event) => this.#onKey(event));
    for (const target of [this.#axis, this.#viewport])
      target.addEventListener('pointerdown', (event) => this.#onPointerDown(event));
    window.addEventListener('pointermove', (event) => this.#onPointerMove(event));
    window.addEventListener('pointerup', (event) => this.#onPointerUp(event));
    this.#viewport.addEventListener('wheel', (event) => this.#onWheel(event), { passive: false });
    this.#status.textContent = 'Loading the trace…';
  }

  /** Loads the trace the first time the tab is shown. */
  start(): Promise<void> {
    this.#loading ??= this.#load();
    return this.#loading;
  }

  get #run(): Run {
    return this.#currentRun();
  }

  async #load(): Promise<void> {
    try {
      const response = await apiFetch(tracePath(this.#run.id, 'spans'));
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      const spans = (await response.json()) as Span[];
      const seq = Number(response.headers.get(SPANS_SEQ_HEADER) ?? 0);
      const tree = SpanTree.restore(this.#run.id, spans, seq, this.#run.usage);
      for (const event of this.#early) tree.add(event);
      this.#early = [];
      this.#tree = tree;
    } catch (error) {
      this.#status.textContent = `Could not load the trace: ${(error as Error).message}`;
      this.#loading = undefined;
      return;
    }
    this.#stale = true;
    this.render();
  }

  /** Every event of the run's live stream, in seq order. */
  receive(event: AgentEvent): void {
    if (!isTraceEvent(event)) return;
    if (this.#tree) {
      if (this.#tree.add(event)) this.#stale = true;
    } else if (this.#loading) this.#early.push(event);
  }

  get hasRunning(): boolean {
    return this.#spans.some((span) => span.status === 'running');
  }

  /** Rebuilds the rows from the tree when it changed; redraws the axis and the visible bars. */
  render(now = Date.now()): void {
    if (!this.#tree) return;
    if (this.#stale || this.#run.status !== this.#builtFor) this.#rebuild(now);
    this.#updateWindow(now);
    this.#drawAxis();
    this.#list.invalidate();
    this.#list.render();
  }

  /** Once a second: running spans grow, a live window follows now. */
  tick(now: number): void {
    if (!this.#tree || (!this.hasRunning && this.#zoom !== undefined)) return;
    // Durations of running spans are recomputed from the tree's snapshot.
    if (this.hasRunning) this.#stale = true;
    this.render(now);
  }

  #rebuild(now: number): void {
    const anchor = this.#anchor();
    this.#builtFor = this.#run.status;
    this.#spans = this.#tree!.spans(this.#run.status, now);
    this.#stale = false;
    const spans = this.#spans;
    this.#hasChildren = spans.map((span, i) => (spans[i + 1]?.depth ?? 0) > (span.depth ?? 0));
    this.#visible = [];
    let hiddenBelow = Infinity;
    for (let i = 0; i < spans.length; i++) {
      const depth = spans[i]!.depth ?? 0;
      if (depth > hiddenBelow) continue;
      hiddenBelow = this.#collapsed.has(spans[i]!.spanId) ? depth : Infinity;
      this.#visible.push(i);
    }
    this.#list.setCount(this.#visible.length);
    this.#restoreAnchor(anchor);
    const source = 'Spans come from span.started / span.ended events and from tool calls.';
    this.#status.textContent =
      spans.length > 0
        ? ''
        : isTerminal(this.#run.status)
          ? `This run made no tool calls. ${source}`
          : `No spans yet. ${source}`;
    this.#status.hidden = spans.length > 0;
    this.#drawStrip(now);
    if (this.#selected !== undefined) {
      const span = spans.find((candidate) => candidate.spanId === this.#selected);
      this.#detail.show(span);
    }
  }

  /** The first row in view, so rows inserted above it do not move what the reader is looking at. */
  #anchor(): { spanId: string; index: number } | undefined {
    const [first] = this.#list.visibleRange();
    const index = this.#visible[first];
    if (index === undefined || this.#viewport.scrollTop === 0) return undefined;
    return { spanId: this.#spans[index]!.spanId, index: first };
  }

  #restoreAnchor(anchor: { spanId: string; index: number } | undefined): void {
    if (!anchor) return;
    const now = this.#visible.findIndex((i) => this.#spans[i]!.spanId === anchor.spanId);
    if (now > anchor.index) this.#list.shiftBy(now - anchor.index);
  }

  #updateWindow(now: number): void {
    const spans = this.#spans;
    let start = Date.parse(this.#run.startedAt);
    let end = this.#run.endedAt !== undefined ? Date.parse(this.#run.endedAt) : now;
    for (const span of spans) {
      start = Math.min(start, span.startTs);
      end = Math.max(end, span.startTs + (span.durationMs ?? 0));
    }
    this.#origin = start;
    this.#window = this.#zoom ?? { start, end: Math.max(end, start + 1) };
    this.#reset.disabled = this.#zoom === undefined;
    this.#zoomLabel.textContent =
      this.#zoom === undefined ? '' : `${formatDuration(this.#zoom.end - this.#zoom.start)} shown`;
  }

  #setZoom(window: TimeWindow | undefined): void {
    this.#zoom = window;
    this.render();
  }

  #drawAxis(): void {
    // The rows' scrollbar takes width the header does not have; the axis must line up with the bars.
    const scrollbar = this.#viewport.offsetWidth - this.#viewport.clientWidth;
    this.#header.style.paddingRight = `${scrollbar}px`;
    const width = this.#axis.clientWidth || 600;
    const ticks = axisTicks(this.#window, width, this.#origin);
    this.#axis.replaceChildren(
      ...ticks.map(({ fraction, label }) => {
        const tick = element('span', { class: 'trace-tick', text: label });
        tick.style.left = `${(fraction * 100).toFixed(3)}%`;
        return tick;
      }),
    );
  }

  #drawStrip(now: number): void {
    const summary = summarizeRun(this.#run, this.#spans, now);
    const usage = this.#run.usage ?? {};
    const tokens = summary.totalTokens;
    const facts: Array<[string, string]> = [
      ['duration', formatDuration(summary.durationMs)],
      ['spans', formatCount(summary.spanCount)],
      [
        'tool calls',
        `${formatCount(summary.toolCallCount)}${summary.failedToolCalls ? ` (${formatCount(summary.failedToolCalls)} failed)` : ''}`,
      ],
      ['tokens', tokens === null ? '—' : formatCount(tokens)],
      ['cost', usage.costUsd === undefined ? 'unknown' : formatUsd(usage.costUsd)],
    ];
    const top = summary.topSelfTime.slice(0, 3).map((entry) => {
      const button = element(
        'button',
        {
          type: 'button',
          class: 'trace-hot',
          title: `${entry.name}: ${formatDuration(entry.selfMs)} of its own time`,
          'aria-label': `Show ${entry.name}, ${formatDuration(entry.selfMs)} self time`,
        },
        element('span', { class: 'trace-hot-name', text: entry.name }),
        element('span', { class: 'trace-hot-time', text: formatDuration(entry.selfMs) }),
      );
      button.addEventListener('click', () => this.reveal(entry.spanId));
      return button;
    });
    this.#strip.replaceChildren(
      ...facts.map(([name, value]) =>
        element(
          'div',
          {
            class: `trace-fact${name === 'tool calls' && summary.failedToolCalls ? ' has-errors' : ''}`,
          },
          element('span', { class: 'trace-fact-name', text: name }),
          element('span', { class: 'trace-fact-value', text: value }),
        ),
      ),
      element(
        'div',
        { class: 'trace-fact trace-top' },
        element('span', { class: 'trace-fact-name', text: 'most self time' }),
        ...(top.length > 0 ? top : [element('span', { class: 'trace-fact-value', text: '—' })]),
      ),
    );
  }

  /** Selects a span, opening its ancestors and scrolling it into view. */
  reveal(spanId: string): void {
    const index = this.#spans.findIndex((span) => span.spanId === spanId);
    if (index === -1) return;
    // Open every collapsed ancestor: walk back to shallower rows.
    let depth = this.#spans[index]!.depth ?? 0;
    for (let i = index - 1; i >= 0 && depth > 0; i--) {
      const d = this.#spans[i]!.depth ?? 0;
      if (d < depth) {
        this.#collapsed.delete(this.#spans[i]!.spanId);
        depth = d;
      }
    }
    this.#stale = true;
    this.select(spanId);
    this.render();
    const row = this.#visible.indexOf(index);
    if (row !== -1) this.#list.scrollToIndex(row);
  }

  select(spanId: string | undefined): void {
    this.#selected = spanId;
    this.#detail.show(this.#spans.find((span) => span.spanId === spanId));
    this.#list.invalidate();
  }

  #createRow(): HTMLElement {
    const toggle = element('button', {
      type: 'button',
      class: 'trace-toggle',
      tabindex: '-1',
      'aria-label': 'Collapse or expand',
    });
    const kind = element('span', { class: 'trace-kind' });
    const name = element('span', { class: 'trace-name' });
    const args = element('span', { class: 'trace-args' });
    const bar = element('span', { class: 'trace-bar' });
    const time = element('span', { class: 'trace-time' });
    const row = element(
      'div',
      { class: 'trace-row', role: 'treeitem' },
      element('span', { class: 'trace-label' }, toggle, kind, name, args),
      element('span', { class: 'trace-track' }, bar, time),
    );
    this.#parts.set(row, { row, toggle, kind, name, args, bar, time });
    return row;
  }

  #renderRow(row: HTMLElement, index: number): void {
    const parts = this.#parts.get(row)!;
    const spanIndex = this.#visible[index]!;
    const span = this.#spans[spanIndex]!;
    const depth = span.depth ?? 0;
    const children = this.#hasChildren[spanIndex]!;
    const collapsed = this.#collapsed.has(span.spanId);
    row.dataset.spanId = span.spanId;
    row.dataset.index = String(index);
    row.className = `trace-row st-${span.status} kind-${span.kind}${span.spanId === this.#selected ? ' selected' : ''}`;
    row.setAttribute('aria-level', String(depth + 1));
    row.setAttribute('aria-selected', String(span.spanId === this.#selected));
    if (children) row.setAttribute('aria-expanded', String(!collapsed));
    else row.removeAttribute('aria-expanded');
    parts.toggle.style.marginLeft = `${depth * INDENT_PX}px`;
    parts.toggle.textContent = children ? (collapsed ? '▸' : '▾') : '';
    parts.toggle.disabled = !children;
    parts.kind.textContent = span.kind;
    parts.name.textContent = span.name;
    const args = span.kind === 'tool' ? argsSummary(span.attrs.args) : '';
    parts.args.textContent = args;
    const duration = span.durationMs;
    const time =
      duration === undefined
        ? span.status
        : `${formatDuration(duration)}${span.status === 'running' ? '…' : ''}` +
          (span.selfMs !== undefined && children ? ` · self ${formatDuration(span.selfMs)}` : '');
    parts.time.textContent = span.status === 'error' ? `✖ ${time}` : time;
    const label = `${span.name}${args ? ` ${args}` : ''}, ${span.kind}, ${span.status}, ${time}`;
    row.setAttribute('aria-label', label);
    row.title = span.error !== undefined ? `${label}\n${span.error}` : label;

    const end = span.startTs + (duration ?? 0);
    const left = fractionOf(this.#window, span.startTs);
    const right = fractionOf(this.#window, end);
    const trackWidth = this.#axis.clientWidth || 600;
    const from = Math.max(0, Math.min(1, left));
    const to = Math.max(0, Math.min(1, right));
    const outside = right < 0 || left > 1;
    parts.bar.hidden = outside;
    parts.bar.style.left = `${(from * 100).toFixed(3)}%`;
    parts.bar.style.width = `${Math.max(MIN_BAR_PX, (to - from) * trackWidth).toFixed(1)}px`;
    // The label sits after the bar, or before it when the bar reaches the right edge.
    const labelLeft = to > 0.8;
    parts.time.classList.toggle('before', labelLeft);
    parts.time.style.left = labelLeft ? '' : `calc(${(to * 100).toFixed(3)}% + 4px)`;
    parts.time.style.right = labelLeft ? `calc(${((1 - from) * 100).toFixed(3)}% + 4px)` : '';
  }

  #spanAtRow(target: EventTarget | null): { span: Span; index: number } | undefined {
    const row = (target as HTMLElement | null)?.closest?.('.trace-row') as HTMLElement | null;
    const index = Number(row?.dataset.index);
    const spanIndex = this.#visible[index];
    if (!row || spanIndex === undefined) return undefined;
    return { span: this.#spans[spanIndex]!, index };
  }

  #toggle(span: Span): void {
    if (this.#collapsed.has(span.spanId)) this.#collapsed.delete(span.spanId);
    else this.#collapsed.add(span.spanId);
    this.#stale = true;
    this.render();
  }

  #onClick(event: MouseEvent): void {
    if (this.#drag?.moved) return;
    const hit = this.#spanAtRow(event.target);
    if (!hit) return;
    if ((event.target as HTMLElement).closest('.trace-toggle')) this.#toggle(hit.span);
    else this.select(hit.span.spanId === this.#selected ? undefined : hit.span.spanId);
  }

  #onKey(event: KeyboardEvent): void {
    const current = this.#visible.findIndex((i) => this.#spans[i]!.spanId === this.#selected);
    const move = (to: number) => {
      const index = this.#visible[Math.max(0, Math.min(this.#visible.length - 1, to))];
      if (index === undefined) return;
      this.select(this.#spans[index]!.spanId);
      this.#list.scrollToIndex(this.#visible.indexOf(index));
    };
    if (event.key === 'ArrowDown') move(current + 1);
    else if (event.key === 'ArrowUp') move(current - 1);
    else if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && current !== -1) {
      const span = this.#spans[this.#visible[current]!]!;
      const collapsed = this.#collapsed.has(span.spanId);
      if ((event.key === 'ArrowLeft') !== collapsed) this.#toggle(span);
    } else if (event.key === 'Escape') this.select(undefined);
    else return;
    event.preventDefault();
  }

  /** The fraction of the time axis under a pointer, or undefined left of it. */
  #fractionAt(clientX: number): number | undefined {
    const box = this.#axis.getBoundingClientRect();
    if (clientX < box.left) return undefined;
    return Math.min(1, (clientX - box.left) / Math.max(1, box.width));
  }

  #onPointerDown(event: PointerEvent): void {
    if (event.button !== 0 || this.#fractionAt(event.clientX) === undefined) return;
    this.#drag = { x: event.clientX, moved: false };
  }

  #onPointerMove(event: PointerEvent): void {
    const drag = this.#drag;
    if (!drag) return;
    if (!drag.moved && Math.abs(event.clientX - drag.x) < DRAG_MIN_PX) return;
    drag.moved = true;
    const box = this.#axis.getBoundingClientRect();
    const body = this.#selection.parentElement!.getBoundingClientRect();
    const a = Math.max(box.left, Math.min(drag.x, event.clientX));
    const b = Math.min(box.right, Math.max(drag.x, event.clientX));
    this.#selection.hidden = false;
    this.#selection.style.left = `${a - body.left}px`;
    this.#selection.style.width = `${Math.max(1, b - a)}px`;
  }

  #onPointerUp(event: PointerEvent): void {
    const drag = this.#drag;
    if (!drag) return;
    this.#selection.hidden = true;
    if (drag.moved) {
      const a = this.#fractionAt(Math.min(drag.x, event.clientX)) ?? 0;
      const b = this.#fractionAt(Math.max(drag.x, event.clientX)) ?? 1;
      this.#setZoom({
        start: timeAt(this.#window, a),
        end: timeAt(this.#window, Math.max(b, a + 0.001)),
      });
      // The click that follows this pointerup is the end of a drag, not a selection.
      setTimeout(() => (this.#drag = undefined), 0);
    } else this.#drag = undefined;
  }

  #onWheel(event: WheelEvent): void {
    if (!event.ctrlKey && !event.metaKey) return;
    const fraction = this.#fractionAt(event.clientX);
    if (fraction === undefined) return;
    event.preventDefault();
    this.#setZoom(
      zoomAround(this.#window, fraction, event.deltaY > 0 ? WHEEL_ZOOM : 1 / WHEEL_ZOOM),
    );
  }
}
