// One run: its header, and tabs for the live timeline, the trace and the metrics,
// with the inspector beside them. Holds the run's SSE stream and feeds every part from it.
import { FAILURE_TYPES } from '../shared/run-effects.ts';
import { SSE_DEFAULT_EVENT, SSE_TRUNCATED_EVENT } from '../shared/sse.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { apiFetch, apiJson, runPath } from './api-client.ts';
import { ApprovalCards } from './approval-card.ts';
import { DirectiveBox } from './directive-box.ts';
import { CompareDialog } from './compare-dialog.ts';
import { element } from './element.ts';
import { Inspector } from './inspector.ts';
import { storedKey } from './key-prompt.ts';
import { LazyFeed } from './lazy-feed.ts';
import { LiveStream, type StreamStatus } from './live-stream.ts';
import { MetricCharts } from './metric-chart.ts';
import { metricOf } from './metric-series.ts';
import { RunHeader } from './run-header.ts';
import { isTerminalRun } from './run-status.ts';
import { Timeline } from './timeline.ts';
import { TraceView } from './trace-view.ts';

/** Panels other than the timeline redraw at most this often. */
const PANEL_REDRAW_MS = 250;

type Tab = 'events' | 'trace' | 'metrics';

export class RunView {
  readonly element: HTMLElement;
  readonly timeline: Timeline;
  readonly inspector: Inspector;
  #run: Run;
  #header: RunHeader;
  #approvals: ApprovalCards;
  #directives: DirectiveBox;
  #stream: LiveStream;
  #received: number;
  #trace: TraceView;
  #metrics: MetricCharts;
  #metricFeed: LazyFeed;
  #tabs = new Map<Tab, { button: HTMLButtonElement; panel: HTMLElement }>();
  #tab: Tab = 'events';
  #redrawTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(run: Run) {
    this.#run = run;
    this.#received = run.lastSeq;
    this.#header = new RunHeader(
      run,
      () => void this.#showError(),
      (next) => this.updateRun(next),
    );
    this.#approvals = new ApprovalCards(run);
    this.#directives = new DirectiveBox(run);
    this.inspector = new Inspector(() => this.timeline.selectSeq(undefined));
    this.timeline = new Timeline({
      runId: run.id,
      runStartedAt: run.startedAt,
      lastSeq: run.lastSeq,
      onSelect: (event) => this.inspector.show(event),
    });
    this.#trace = new TraceView(run, (event) => this.inspector.show(event));
    this.#metrics = new MetricCharts();
    this.#metricFeed = new LazyFeed(
      run.id,
      ['type=metric', 'q=metricName'],
      (event) => metricOf(event) !== undefined,
      (events) => {
        this.#metrics.add(events);
        this.#scheduleRedraw();
      },
    );

    const exportButton = element('button', {
      type: 'button',
      text: 'Export NDJSON',
      'aria-label': 'Export every event of this run as NDJSON',
    });
    exportButton.addEventListener('click', () => void this.#export());
    const compare = new CompareDialog(() => this.#run);
    this.#header.actions.append(compare.button, exportButton);

    const tabList = element('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Run views' });
    const panels = element('div', { class: 'tab-panels' });
    const addTab = (tab: Tab, label: string, panel: HTMLElement) => {
      const button = element('button', {
        type: 'button',
        role: 'tab',
        id: `tab-${tab}`,
        'aria-controls': `panel-${tab}`,
        'aria-label': label,
        text: label,
      });
      button.addEventListener('click', () => this.showTab(tab));
      const wrapper = element(
        'div',
        {
          class: `tab-panel panel-${tab}`,
          role: 'tabpanel',
          id: `panel-${tab}`,
          'aria-labelledby': `tab-${tab}`,
        },
        panel,
      );
      tabList.append(button);
      panels.append(wrapper);
      this.#tabs.set(tab, { button, panel: wrapper });
    };
    addTab('events', 'Events', this.timeline.element);
    addTab('trace', 'Trace', this.#trace.element);
    addTab('metrics', 'Metrics', this.#metrics.element);

    this.element = element(
      'article',
      { class: 'run-view', 'aria-label': `Run ${run.id}` },
      this.#header.element,
      this.#approvals.element,
      this.#directives.element,
      tabList,
      element('div', { class: 'run-body' }, panels, this.inspector.element),
    );
    this.showTab('events');

    this.#stream = new LiveStream({
      path: runPath(run.id, '/stream'),
      lastEventId: () => this.#received,
      onMessage: (message) => {
        if (message.event === SSE_TRUNCATED_EVENT) {
          // Retention removed events we had not received: the stream goes on from firstSeq.
          const { firstSeq } = JSON.parse(message.data) as { firstSeq: number };
          this.#received = Math.max(this.#received, firstSeq - 1);
          this.timeline.truncate(firstSeq);
          return;
        }
        if (message.event !== SSE_DEFAULT_EVENT) return;
        const event = JSON.parse(message.data) as AgentEvent;
        // The stream resumes after the last seq we hold, so anything at or below it is a repeat.
        if (event.seq <= this.#received) return;
        this.#received = event.seq;
        this.timeline.receive(event);
        this.#approvals.receive(event);
        this.#directives.receive(event);
        this.#trace.receive(event);
        if (this.#tab === 'trace') this.#scheduleRedraw();
        this.#metricFeed.add(event);
      },
      onStatus: (status) => this.#showConnection(status),
    });
    this.updateRun(run);
  }

  get run(): Run {
    return this.#run;
  }

  updateRun(run: Run): void {
    // A control request's answer can cross a newer copy from the run feed; keep the newer one.
    if (Date.parse(run.updatedAt) < Date.parse(this.#run.updatedAt)) return;
    this.#run = run;
    this.#trace.updateRun(run);
    this.#header.update(run);
    this.#approvals.update(run);
    this.#directives.update(run);
    this.#showConnection(this.#stream.status);
  }

  showTab(tab: Tab): void {
    this.#tab = tab;
    for (const [name, { button, panel }] of this.#tabs) {
      button.setAttribute('aria-selected', String(name === tab));
      panel.hidden = name !== tab;
    }
    if (tab === 'trace') void this.#trace.start();
    if (tab === 'metrics') void this.#metricFeed.start(this.#received + 1);
    this.#redraw();
  }

  #scheduleRedraw(): void {
    if (this.#redrawTimer !== undefined || document.hidden) return;
    this.#redrawTimer = setTimeout(() => {
      this.#redrawTimer = undefined;
      this.#redraw();
    }, PANEL_REDRAW_MS);
  }

  #redraw(): void {
    if (this.#tab === 'trace') this.#trace.render();
    if (this.#tab === 'metrics') this.#metrics.render();
  }

  /** Once a second while visible. */
  tick(now: number): void {
    this.#header.tick(now);
    this.#approvals.tick(now);
    if (this.#tab === 'trace') this.#trace.tick(now);
  }

  /** The tab became visible again: draw the timeline and panels skipped while hidden and reconnect at once if waiting. */
  catchUp(): void {
    this.timeline.catchUp();
    this.#redraw();
    this.#stream.retryNow();
  }

  #showConnection(status: StreamStatus): void {
    const node = this.#header.connection;
    let text: string;
    switch (status.state) {
      case 'connecting':
        text = 'connecting…';
        break;
      case 'live':
        text = isTerminalRun(this.#run) ? 'connected' : 'live';
        break;
      case 'reconnecting':
        text =
          status.retryInMs !== undefined
            ? `server unreachable, retrying in ${Math.ceil(status.retryInMs / 1000)} s`
            : 'reconnecting…';
        break;
      case 'ended':
        text = status.reason === 'closed' ? '' : `stream ended: ${status.reason ?? ''}`;
        break;
      default:
        text = status.state satisfies never;
    }
    node.textContent = text;
    node.title = status.reason ?? '';
    node.dataset.state = status.state;
  }

  /** The newest run.error / error event: where the run failed. */
  async #showError(): Promise<void> {
    this.showTab('events');
    const [event] = await apiJson<AgentEvent[]>(
      runPath(
        this.#run.id,
        `/events?type=${FAILURE_TYPES.join(',')}&before=${this.#received + 1}&limit=1`,
      ),
    );
    if (event) this.timeline.reveal(event);
  }

  async #export(): Promise<void> {
    const path = runPath(this.#run.id, '/events?format=ndjson');
    const link = element('a', { download: `${this.#run.id}.ndjson`, hidden: true });
    let objectUrl: string | undefined;
    if (storedKey() === undefined) link.href = path;
    else {
      // With a key the file has to come through fetch, since a link cannot carry the header.
      const response = await apiFetch(path);
      objectUrl = URL.createObjectURL(await response.blob());
      link.href = objectUrl;
    }
    document.body.append(link);
    link.click();
    link.remove();
    if (objectUrl) setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
  }

  close(): void {
    this.#stream.close();
    clearTimeout(this.#redrawTimer);
  }
}
