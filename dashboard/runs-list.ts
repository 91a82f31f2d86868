// The runs list: live runs first (with counts per status), then the rest, newest first; searched and
// filtered by the server (so it covers every run), kept live from GET /api/stream. Each row says what
// its run is doing now, and a new run never moves the row under the pointer. The feed is opened
// first and the list loaded on every (re)connect, keeping per run the copy with the newest
// updatedAt (docs/protocol.md).
import { RUN_STATUSES } from '../shared/constants.ts';
import { runDashboardHash } from '../shared/run-url.ts';
import type { Run, RunChange, RunStatus } from '../shared/types.ts';
import { ActivityLine } from './activity-line.ts';
import { apiFetch } from './api-client.ts';
import { pendingBadge, showPending } from './approval-card.ts';
import { element } from './element.ts';
import { formatAbsolute, formatAgo, formatUsd } from './format.ts';
import { LiveStream, type StreamStatus } from './live-stream.ts';
import { producerView } from './producer-state.ts';
import { QueuedRuns } from './queued-runs.ts';
import { RecentActivity } from './recent-activity.ts';
import { describeActivity, type RunActivity } from './run-activity.ts';
import { isStale, newerRun, STATUS_LABEL } from './run-status.ts';

const PAGE_SIZE = 100;
const SEARCH_DEBOUNCE_MS = 200;
/** Changes from the feed are drawn at most this often. */
const REDRAW_MS = 250;

/** Statuses that count as live: grouped at the top of the list. */
const LIVE_STATUSES: readonly RunStatus[] = ['running', 'paused', 'queued'];
/** Metadata shown as chips on a row, at most. */
const MAX_CHIPS = 3;
/** Metadata strings longer than this are not shown as chips (they are in the run's header). */
const MAX_CHIP_CHARS = 24;
/** A run id is shown by its end (where generated ids differ) past this length. */
const ID_SUFFIX_CHARS = 8;
const START_COMMAND = 'npx agent-ops --steps 20 --interval 200ms';

interface Row {
  element: HTMLAnchorElement;
  badge: HTMLElement;
  title: HTMLElement;
  /** How many approvals wait on the run. */
  pending: HTMLElement;
  stale: HTMLElement;
  producer: HTMLElement;
  id: HTMLElement;
  started: HTMLElement;
  chips: HTMLElement;
  cost: HTMLElement;
  chipsKey: string;
  activity: ActivityLine;
}

/** Writes only when the text changed, so the once-a-second tick touches few nodes. */
function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function isLive(run: Run): boolean {
  return LIVE_STATUSES.includes(run.status);
}

/** "…a1b2c3d4" for a long generated id; a short id as it is. */
function idSuffix(id: string): string {
  return id.length > ID_SUFFIX_CHARS + 4 ? `…${id.slice(-ID_SUFFIX_CHARS)}` : id;
}

/** Time of day for today's runs, the date too for older ones. */
function formatStart(iso: string, now: number): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const time = date.toLocaleTimeString('en-GB', { hour12: false });
  if (new Date(now).toDateString() === date.toDateString()) return time;
  return `${date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })} ${time}`;
}

/** Tags first, then short string and number metadata as key=value. */
function chipsOf(run: Run): string[] {
  const chips: string[] = [];
  const { tags } = run.metadata;
  if (Array.isArray(tags)) for (const tag of tags) if (typeof tag === 'string') chips.push(tag);
  for (const [key, value] of Object.entries(run.metadata)) {
    if (key === 'tags' || key === 'totalSteps') continue;
    if (typeof value === 'string' && value.length <= MAX_CHIP_CHARS) chips.push(`${key}=${value}`);
  }
  return chips.slice(0, MAX_CHIPS);
}

export interface RunsListOptions {
  /** A run appeared or changed in the runs feed. */
  onChange(run: Run): void;
  /** The runs feed (re)connected: what changed while it was away came with no message. */
  onFeedOpen(): void;
  /** A queued run's position in the queue changed (`queue`). */
  onQueueChange(): void;
}

export class RunsList {
  readonly element: HTMLElement;
  readonly search: HTMLInputElement;
  /** The whole queue, fed by this list's feed: the rows' positions and the run header's. */
  readonly queue: QueuedRuns;
  #status: HTMLSelectElement;
  #runs = new Map<string, Run>();
  #rows = new Map<string, Row>();
  #list: HTMLElement;
  #more: HTMLButtonElement;
  #empty: HTMLElement;
  #connection: HTMLElement;
  #next: string | undefined;
  #selected: string | undefined;
  #order: string[] = [];
  #redrawTimer: ReturnType<typeof setTimeout> | undefined;
  #loadToken = 0;
  #stream: LiveStream;
  #options: RunsListOptions;
  #counts: HTMLElement;
  #pending: HTMLButtonElement;
  #divider = element('div', { class: 'runs-divider', role: 'presentation', text: 'Earlier runs' });
  /** The pointer is over the list: order changes wait so the row under it never moves. */
  #pointerInside = false;
  #recent = new RecentActivity((id) => {
    const row = this.#rows.get(id);
    const run = this.#runs.get(id);
    if (row && run) this.tickRow(row, run, Date.now());
  });

  constructor(options: RunsListOptions) {
    this.#options = options;
    this.queue = new QueuedRuns(() => {
      this.#scheduleRender();
      options.onQueueChange();
    });
    this.search = element('input', {
      type: 'search',
      class: 'runs-search',
      placeholder: 'Search runs  /',
      'aria-label': 'Search runs by title, id or metadata',
      spellcheck: 'false',
    });
    this.#status = element('select', {
      class: 'runs-status',
      'aria-label': 'Filter runs by status',
    });
    this.#status.append(element('option', { value: '', text: 'all' }));
    for (const status of RUN_STATUSES)
      this.#status.append(element('option', { value: status, text: status }));
    let debounce: ReturnType<typeof setTimeout> | undefined;
    this.search.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void this.reload(), SEARCH_DEBOUNCE_MS);
    });
    this.#status.addEventListener('change', () => void this.reload());

    this.#list = element('nav', { class: 'runs', 'aria-label': 'Runs' });
    this.#list.addEventListener('pointerenter', () => (this.#pointerInside = true));
    this.#list.addEventListener('pointerleave', () => {
      this.#pointerInside = false;
      this.render();
    });
    this.#counts = element('p', { class: 'runs-counts', 'aria-label': 'Runs by status' });
    this.#pending = element('button', { type: 'button', class: 'runs-pending', hidden: true });
    this.#pending.addEventListener('click', () => this.render(Date.now(), true));
    this.#empty = element('div', { class: 'runs-empty', role: 'status' });
    this.#more = element('button', {
      type: 'button',
      class: 'load-more',
      text: 'Load more runs',
      'aria-label': 'Load more runs',
      hidden: true,
    });
    this.#more.addEventListener('click', () => void this.#loadPage(this.#next));
    this.#connection = element('span', { class: 'connection', role: 'status' });
    this.element = element(
      'aside',
      { class: 'sidebar' },
      element(
        'div',
        { class: 'sidebar-head' },
        element(
          'div',
          { class: 'brand' },
          element('span', { class: 'brand-name', text: 'agent-ops' }),
          this.#connection,
        ),
        element('div', { class: 'runs-filters' }, this.search, this.#status),
      ),
      element('div', { class: 'runs-summary' }, this.#counts, this.#pending),
      element('div', { class: 'runs-scroll' }, this.#list, this.#empty, this.#more),
    );

    this.#stream = new LiveStream({
      path: '/api/stream',
      onOpen: () => {
        void this.reload();
        void this.queue.load();
        this.#options.onFeedOpen();
      },
      onMessage: (message) => this.#apply(JSON.parse(message.data) as RunChange),
      onStatus: (status) => this.#showConnection(status),
    });
  }

  get(id: string): Run | undefined {
    return this.#runs.get(id);
  }

  /** Loads the first page for the current search; live changes keep it current afterwards. */
  async reload(): Promise<void> {
    this.#next = undefined;
    await this.#loadPage(undefined, true);
  }

  async #loadPage(before: string | undefined, replace = false): Promise<void> {
    const token = ++this.#loadToken;
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const q = this.search.value.trim();
    if (q) params.set('q', q);
    if (this.#status.value) params.set('status', this.#status.value);
    if (before) params.set('before', before);
    try {
      const response = await apiFetch(`/api/runs?${params}`);
      if (!response.ok) throw new Error(`GET /api/runs answered ${response.status}`);
      const runs = (await response.json()) as Run[];
      if (token !== this.#loadToken) return;
      if (replace) this.#runs.clear();
      for (const run of runs) this.#runs.set(run.id, newerRun(this.#runs.get(run.id), run));
      this.#next = response.headers.get('link')?.includes('rel="next"')
        ? runs[runs.length - 1]?.id
        : undefined;
      this.render();
    } catch (error) {
      this.#empty.textContent = `Could not load runs: ${error instanceof Error ? error.message : String(error)}`;
      this.#empty.hidden = false;
    }
  }

  #matches(run: Run): boolean {
    if (this.#status.value && run.status !== this.#status.value) return false;
    const q = this.search.value.trim().toLowerCase();
    if (!q) return true;
    const haystack = [
      run.title,
      run.id,
      ...Object.values(run.metadata).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
    ];
    return haystack.some((text) => text.toLowerCase().includes(q));
  }

  #apply(change: RunChange): void {
    this.queue.apply(change);
    if (change.kind === 'worker') return; // the Workers view's
    if (change.kind === 'deleted') {
      this.#runs.delete(change.id);
    } else {
      const current = this.#runs.get(change.run.id);
      const run = newerRun(current, change.run);
      if (run === current) return;
      // A run outside the loaded page (or the search) only enters the list if it is new.
      if (current || this.#matches(run)) this.#runs.set(run.id, run);
      this.#options.onChange(run);
    }
    this.#scheduleRender();
  }

  #scheduleRender(): void {
    if (this.#redrawTimer !== undefined || document.hidden) return;
    this.#redrawTimer = setTimeout(() => {
      this.#redrawTimer = undefined;
      this.render();
    }, REDRAW_MS);
  }

  select(id: string | undefined): void {
    this.#selected = id;
    for (const [runId, row] of this.#rows) {
      if (runId === id) row.element.setAttribute('aria-current', 'page');
      else row.element.removeAttribute('aria-current');
    }
  }

  /** The run `delta` places from the selected one (j / k when no run is open). */
  neighbour(delta: number): string | undefined {
    const index = this.#selected === undefined ? -1 : this.#order.indexOf(this.#selected);
    const next = index < 0 ? (delta > 0 ? 0 : this.#order.length - 1) : index + delta;
    return this.#order[Math.max(0, Math.min(this.#order.length - 1, next))];
  }

  /** Live runs first (running, paused, queued), then the rest; newest first within each. */
  render(now = Date.now(), force = false): void {
    const runs = [...this.#runs.values()]
      .filter((run) => this.#matches(run))
      .sort(
        (a, b) =>
          Number(isLive(b)) - Number(isLive(a)) ||
          b.startedAt.localeCompare(a.startedAt) ||
          b.id.localeCompare(a.id),
      );
    const order = runs.map((run) => run.id);
    const changed = order.join('\n') !== this.#order.join('\n');
    // Under the pointer nothing moves: rows update in place and the new order waits for the
    // pointer to leave (or for a click on "N new runs").
    const hold = changed && this.#pointerInside && !force && this.#order.length > 0;
    const shown = hold ? this.#order.filter((id) => this.#runs.has(id)) : order;
    for (const [id, row] of this.#rows) {
      if (!shown.includes(id)) {
        row.element.remove();
        this.#rows.delete(id);
        this.#recent.forget(id);
      }
    }
    for (const id of shown) this.#renderRow(this.#runs.get(id)!, now);
    if (!hold && changed) {
      const rows = order.map((id) => this.#rows.get(id)!.element);
      const firstEnded = runs.findIndex((run) => !isLive(run));
      const nodes: HTMLElement[] = rows;
      if (firstEnded > 0) nodes.splice(firstEnded, 0, this.#divider);
      this.#list.replaceChildren(...nodes);
      this.#order = order;
    }
    const waiting = hold ? order.filter((id) => !this.#order.includes(id)).length : 0;
    this.#pending.hidden = !hold;
    this.#pending.textContent =
      waiting > 0 ? `${waiting} new ${waiting === 1 ? 'run' : 'runs'} ↑` : 'Reorder ↑';
    this.#pending.setAttribute(
      'aria-label',
      waiting > 0 ? `Show ${waiting} new runs` : 'Put live runs back at the top',
    );
    this.#renderCounts(runs);
    this.#renderEmpty(runs.length === 0);
    this.#more.hidden = this.#next === undefined;
    this.select(this.#selected);
  }

  #renderCounts(runs: Run[]): void {
    const counts = new Map<RunStatus, number>();
    for (const run of runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
    const parts = RUN_STATUSES.filter((status) => counts.has(status)).map((status) =>
      element(
        'span',
        { class: `count count-${status}` },
        element('span', { class: `count-name st-${status}`, text: STATUS_LABEL[status] }),
        ` ${counts.get(status)}`,
      ),
    );
    const withDots: (HTMLElement | string)[] = [];
    parts.forEach((part, index) => withDots.push(...(index > 0 ? [' · ', part] : [part])));
    this.#counts.replaceChildren(...withDots);
    this.#counts.hidden = runs.length === 0;
  }

  #renderEmpty(empty: boolean): void {
    this.#empty.hidden = !empty;
    if (!empty) return;
    if (this.search.value.trim() || this.#status.value) {
      this.#empty.replaceChildren(
        element('p', { text: 'No runs match. Clear the search or pick "all" statuses.' }),
      );
      return;
    }
    const copy = element('button', {
      type: 'button',
      class: 'copy-command',
      text: 'Copy',
      'aria-label': 'Copy the command',
    });
    copy.addEventListener('click', () => {
      void navigator.clipboard?.writeText(START_COMMAND).then(
        () => (copy.textContent = 'Copied'),
        () => undefined,
      );
    });
    this.#empty.replaceChildren(
      element('p', { text: 'No runs yet. Start one from a terminal:' }),
      element(
        'div',
        { class: 'command' },
        element('code', { class: 'mono', text: START_COMMAND }),
        copy,
      ),
      element('p', {
        class: 'hint',
        text: 'Or wrap any command: npx agent-ops exec -- <command>. Runs appear here live.',
      }),
    );
  }

  /** The open run's activity, fed by its view's stream, stands for the run's row too. */
  shareActivity(runId: string, activity: RunActivity | undefined): void {
    this.#recent.share(runId, activity);
  }

  /** Gives the keyboard to the list (Esc in the search box). */
  focusList(): void {
    (
      this.#list.querySelector<HTMLElement>('.run-row[aria-current="page"]') ??
      this.#list.querySelector<HTMLElement>('.run-row')
    )?.focus();
  }

  #renderRow(run: Run, now: number): void {
    let row = this.#rows.get(run.id);
    if (!row) {
      const badge = element('span', { class: 'status-badge' });
      const title = element('span', { class: 'run-row-title' });
      const stale = element('span', { class: 'stale-badge', text: 'stale' });
      const pending = pendingBadge();
      const producer = element('span', { class: 'row-producer' });
      const id = element('span', { class: 'run-row-id' });
      const started = element('span', { class: 'run-row-started' });
      const chips = element('span', { class: 'run-row-chips' });
      const cost = element('span', { class: 'run-row-cost' });
      const activity = new ActivityLine('row-activity');
      const link = element(
        'a',
        { class: 'run-row', href: runDashboardHash(run.id), 'data-run-id': run.id },
        element('span', { class: 'run-row-line' }, badge, title, pending, stale, cost),
        activity.element,
        element('span', { class: 'run-row-line sub' }, started, id, chips, producer),
      );
      row = {
        element: link,
        badge,
        title,
        pending,
        stale,
        producer,
        id,
        started,
        chips,
        cost,
        chipsKey: '',
        activity,
      };
      this.#rows.set(run.id, row);
    }
    row.element.dataset.status = run.status;
    row.element.setAttribute(
      'aria-label',
      `${run.title}, ${run.status}, started ${formatAbsolute(run.startedAt)}, ${run.id}`,
    );
    setText(row.badge, STATUS_LABEL[run.status]);
    row.badge.className = `status-badge st-${run.status}`;
    row.badge.dataset.status = run.status;
    setText(row.title, run.title);
    row.title.title = run.title;
    setText(row.id, idSuffix(run.id));
    // Cost as the run's usage reports say it; unknown stays blank, never $0.
    const cost = run.usage?.costUsd;
    setText(row.cost, cost === undefined ? '' : formatUsd(cost));
    row.cost.title = cost === undefined ? '' : `cost ${formatUsd(cost)}`;
    showPending(row.pending, run);
    row.id.title = run.id;
    const chips = chipsOf(run);
    const chipsKey = chips.join('\n');
    if (chipsKey !== row.chipsKey) {
      row.chipsKey = chipsKey;
      row.chips.replaceChildren(
        ...chips.map((chip) => element('span', { class: 'meta-chip', text: chip, title: chip })),
      );
    }
    this.tickRow(row, run, now);
  }

  tickRow(row: Row, run: Run, now: number): void {
    if (isLive(run)) this.#recent.refresh(run, now);
    const view = describeActivity(run, this.#recent.of(run.id), now);
    const position = run.status === 'queued' ? this.queue.position(run.id) : undefined;
    if (position !== undefined) view.text = `#${position} in queue (${run.task})`;
    row.activity.update(view);
    setText(row.started, formatStart(run.startedAt, now));
    row.started.title = `started ${formatAbsolute(run.startedAt)} (${formatAgo(run.startedAt, now)})`;
    row.stale.hidden = !isStale(run, now);
    const producer = producerView(run, now);
    const flagged = producer.state === 'disconnected' || producer.state === 'lost';
    setText(row.producer, flagged ? producer.text : '');
    row.producer.hidden = !flagged;
    row.producer.title = producer.title;
    row.producer.dataset.state = producer.state;
  }

  /** Once a second while visible: durations tick, ages move. */
  tick(now: number): void {
    for (const [id, row] of this.#rows) {
      const run = this.#runs.get(id);
      if (run) this.tickRow(row, run, now);
    }
  }

  catchUp(): void {
    this.render();
    this.#stream.retryNow();
  }

  #showConnection(status: StreamStatus): void {
    this.#connection.dataset.state = status.state;
    this.#connection.textContent =
      status.state === 'live'
        ? 'live'
        : status.state === 'reconnecting'
          ? 'offline, retrying'
          : status.state === 'connecting'
            ? 'connecting…'
            : '';
    this.#connection.title = status.reason ?? '';
  }
}
