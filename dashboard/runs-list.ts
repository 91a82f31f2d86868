// The runs list: newest first, searched and filtered by the server (so it covers every run), kept
// live from GET /api/stream. The feed is opened first and the list loaded on every (re)connect,
// keeping per run the copy with the newest updatedAt (docs/protocol.md).
import { RUN_STATUSES } from '../shared/constants.ts';
import { runDashboardHash } from '../shared/run-url.ts';
import type { Run, RunChange } from '../shared/types.ts';
import { apiFetch } from './api-client.ts';
import { pendingBadge, showPending } from './approval-card.ts';
import { element } from './element.ts';
import { formatAbsolute, formatAgo, formatDuration, formatUsd } from './format.ts';
import { LiveStream, type StreamStatus } from './live-stream.ts';
import { queuePositions } from './queue-position.ts';
import { isStale, newerRun, runDurationMs } from './run-status.ts';

const PAGE_SIZE = 100;
const SEARCH_DEBOUNCE_MS = 200;
/** Changes from the feed are drawn at most this often. */
const REDRAW_MS = 250;

interface Row {
  element: HTMLAnchorElement;
  dot: HTMLElement;
  title: HTMLElement;
  /** How many approvals wait on the run. */
  pending: HTMLElement;
  stale: HTMLElement;
  duration: HTMLElement;
  cost: HTMLElement;
  id: HTMLElement;
  started: HTMLElement;
  activity: HTMLElement;
}

/** Writes only when the text changed, so the once-a-second tick touches few nodes. */
function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export class RunsList {
  readonly element: HTMLElement;
  readonly search: HTMLInputElement;
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
  #queuePositions = new Map<string, number>();
  #redrawTimer: ReturnType<typeof setTimeout> | undefined;
  #loadToken = 0;
  #stream: LiveStream;
  #onChange: (run: Run) => void;

  constructor(onChange: (run: Run) => void) {
    this.#onChange = onChange;
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
    this.#empty = element('p', { class: 'runs-empty', role: 'status' });
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
      element('div', { class: 'runs-scroll' }, this.#list, this.#empty, this.#more),
    );

    this.#stream = new LiveStream({
      path: '/api/stream',
      onOpen: () => void this.reload(),
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
    if (change.kind === 'worker') return; // the Workers view's
    if (change.kind === 'deleted') {
      this.#runs.delete(change.id);
    } else {
      const current = this.#runs.get(change.run.id);
      const run = newerRun(current, change.run);
      if (run === current) return;
      // A run outside the loaded page (or the search) only enters the list if it is new.
      if (current || this.#matches(run)) this.#runs.set(run.id, run);
      this.#onChange(run);
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

  render(now = Date.now()): void {
    const runs = [...this.#runs.values()]
      .filter((run) => this.#matches(run))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
    const order = runs.map((run) => run.id);
    this.#queuePositions = queuePositions(this.#runs.values());
    for (const [id, row] of this.#rows) {
      if (!this.#runs.has(id) || !order.includes(id)) {
        row.element.remove();
        this.#rows.delete(id);
      }
    }
    for (const run of runs) this.#renderRow(run, now);
    if (order.join('\n') !== this.#order.join('\n')) {
      this.#list.replaceChildren(...order.map((id) => this.#rows.get(id)!.element));
      this.#order = order;
    }
    this.#empty.hidden = runs.length > 0;
    this.#empty.textContent =
      this.search.value.trim() || this.#status.value
        ? 'No runs match.'
        : 'No runs yet. Start one with: agent-ops --steps 20 --interval 200';
    this.#more.hidden = this.#next === undefined;
    this.select(this.#selected);
  }

  #renderRow(run: Run, now: number): void {
    let row = this.#rows.get(run.id);
    if (!row) {
      const dot = element('span', { class: 'dot', 'aria-hidden': 'true' });
      const title = element('span', { class: 'run-row-title' });
      const stale = element('span', { class: 'stale-badge', text: 'stale' });
      const pending = pendingBadge();
      const duration = element('span', { class: 'run-row-duration' });
      const cost = element('span', { class: 'run-row-cost' });
      const id = element('span', { class: 'run-row-id' });
      const started = element('span', { class: 'run-row-started' });
      const activity = element('span', { class: 'run-row-activity' });
      const link = element(
        'a',
        { class: 'run-row', href: runDashboardHash(run.id), 'data-run-id': run.id },
        element('span', { class: 'run-row-line' }, dot, title, pending, stale, cost, duration),
        element('span', { class: 'run-row-line sub' }, id, started, activity),
      );
      row = { element: link, dot, title, pending, stale, duration, cost, id, started, activity };
      this.#rows.set(run.id, row);
    }
    row.element.dataset.status = run.status;
    row.element.setAttribute('aria-label', `${run.title}, ${run.status}, ${run.id}`);
    row.dot.className = `dot st-${run.status}`;
    row.title.textContent = run.title;
    row.title.title = run.title;
    // Cost as the run's usage reports say it; unknown stays blank, never $0.
    const cost = run.usage?.costUsd;
    setText(row.cost, cost === undefined ? '' : formatUsd(cost));
    row.cost.title = cost === undefined ? '' : `cost ${formatUsd(cost)}`;
    row.stale.hidden = !isStale(run, now);
    showPending(row.pending, run);
    row.id.textContent = run.id;
    row.id.title = run.id;
    this.tickRow(row, run, now);
  }

  tickRow(row: Row, run: Run, now: number): void {
    setText(row.duration, formatDuration(runDurationMs(run, now)));
    setText(row.started, formatAgo(run.startedAt, now));
    row.started.title = `started ${formatAbsolute(run.startedAt)}`;
    const position = this.#queuePositions.get(run.id);
    if (position !== undefined) setText(row.activity, `#${position} in queue (${run.task})`);
    else setText(row.activity, run.lastEventAt ? `active ${formatAgo(run.lastEventAt, now)}` : '');
    row.activity.title = run.lastEventAt ? `last event ${formatAbsolute(run.lastEventAt)}` : '';
  }

  /** Once a second while visible: durations tick, ages move. */
  tick(now: number): void {
    for (const [id, row] of this.#rows) {
      const run = this.#runs.get(id);
      if (run) {
        this.tickRow(row, run, now);
        row.stale.hidden = !isStale(run, now);
      }
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
