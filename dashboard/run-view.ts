// One run: its header, and tabs (Events, Console, Trace, Metrics, …) with the inspector over
// them. Holds the run's SSE stream and feeds every part from it. A tab is one module exporting a
// RunTabFactory and one line in RUN_TABS.
import { outputLinesOf, STDERR_EVENT_TYPE } from '../shared/output-lines.ts';
import { FAILURE_TYPES } from '../shared/run-effects.ts';
import { SSE_DEFAULT_EVENT, SSE_TRUNCATED_EVENT } from '../shared/sse.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { apiFetch, apiJson, runPath } from './api-client.ts';
import { ApprovalCards } from './approval-card.ts';
import { CompareDialog } from './compare-dialog.ts';
import { consoleTab } from './console-tab.ts';
import { DirectiveBox } from './directive-box.ts';
import { element } from './element.ts';
import { Inspector } from './inspector.ts';
import type { QueuedRuns } from './queued-runs.ts';
import { storedKey } from './key-prompt.ts';
import { LiveStream, type StreamStatus } from './live-stream.ts';
import { metricsTab } from './metrics-tab.ts';
import { RunActivity } from './run-activity.ts';
import { RunHeader } from './run-header.ts';
import { isTerminalRun } from './run-status.ts';
import type { RunTab, RunTabContext, RunTabFactory } from './run-tab.ts';
import { Timeline } from './timeline.ts';
import { traceTab } from './trace-tab.ts';

/** The tabs after Events, in order. */
const RUN_TABS: RunTabFactory[] = [consoleTab, traceTab, metricsTab];

/** Panels other than the timeline redraw at most this often. */
const PANEL_REDRAW_MS = 250;
/** How many of the newest events seed "what the run is doing now" when the view opens. */
const ACTIVITY_SEED_EVENTS = 200;
/** A failed command's banner shows this many of the last lines of stderr. */
const STDERR_BANNER_LINES = 8;
/** ...and loads them this long after the view opens, once the timeline has its first page. */
const STDERR_LOAD_DELAY_MS = 300;

interface TabSlot {
  tab: RunTab;
  button: HTMLButtonElement;
  panel: HTMLElement;
}

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
  readonly activity = new RunActivity();
  /** Stream events that arrived before the activity was seeded. */
  #activityBacklog: AgentEvent[] | undefined = [];
  #tabs = new Map<string, TabSlot>();
  #tab = 'events';
  #redrawTimer: ReturnType<typeof setTimeout> | undefined;
  #stderrShown = false;
  #stderrTimer: ReturnType<typeof setTimeout> | undefined;

  /** `queue` is the page's copy of the whole queue, for the run's position while it waits. */
  constructor(run: Run, queue: QueuedRuns) {
    this.#run = run;
    this.#received = run.lastSeq;
    this.#header = new RunHeader(
      run,
      this.activity,
      queue,
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
      onSelect: (event) => this.inspector.show(event, this.#run),
    });

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
    const tabs: RunTab[] = [
      {
        id: 'events',
        element: this.timeline.element,
        label: () => 'Events',
        search: this.timeline.search,
        focus: () => this.timeline.focusList(),
      },
    ];
    for (const make of RUN_TABS) {
      const index = tabs.length;
      tabs.push(make(this.#context(() => tabs[index]!.id)));
    }
    for (const tab of tabs) {
      const button = element('button', {
        type: 'button',
        role: 'tab',
        id: `tab-${tab.id}`,
        'aria-controls': `panel-${tab.id}`,
        text: tab.label(run),
        hidden: tab.initiallyAvailable === false,
      });
      button.addEventListener('click', () => this.showTab(tab.id));
      const panel = element(
        'div',
        {
          class: `tab-panel panel-${tab.id}`,
          role: 'tabpanel',
          id: `panel-${tab.id}`,
          'aria-labelledby': `tab-${tab.id}`,
        },
        tab.element,
      );
      tabList.append(button);
      panels.append(panel);
      this.#tabs.set(tab.id, { tab, button, panel });
    }

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
        if (this.#activityBacklog) this.#activityBacklog.push(event);
        else this.activity.add(event);
        this.#approvals.receive(event);
        this.#directives.receive(event);
        for (const { tab } of this.#tabs.values()) tab.receive?.(event);
      },
      onStatus: (status) => this.#showConnection(status),
    });
    void this.#seedActivity(run.lastSeq);
    this.updateRun(run);
  }

  #context(id: () => string): RunTabContext {
    return {
      runId: this.#run.id,
      run: () => this.#run,
      receivedSeq: () => this.#received,
      inspect: (event) => this.inspector.show(event, this.#run),
      setAvailable: (available) => {
        const slot = this.#tabs.get(id());
        if (slot) slot.button.hidden = !available;
      },
      scheduleRedraw: () => this.#scheduleRedraw(),
    };
  }

  get run(): Run {
    return this.#run;
  }

  /** The search box of the tab shown, for `/`. */
  get search(): HTMLInputElement {
    return this.#tabs.get(this.#tab)?.tab.search ?? this.timeline.search;
  }

  /** Gives the keyboard back to the shown tab's list (Esc in a search box). */
  focusTab(): void {
    this.#tabs.get(this.#tab)?.tab.focus?.();
  }

  updateRun(run: Run): void {
    // A control request's answer can cross a newer copy from the run feed; keep the newer one.
    if (Date.parse(run.updatedAt) < Date.parse(this.#run.updatedAt)) return;
    this.#run = run;
    for (const { tab, button } of this.#tabs.values()) {
      const label = tab.label(run);
      if (button.textContent !== label) button.textContent = label;
    }
    this.#header.update(run);
    this.#approvals.update(run);
    this.#directives.update(run);
    this.#showConnection(this.#stream.status);
    if (run.status === 'error' && !this.#stderrShown) {
      this.#stderrShown = true;
      // A type filter can scan the whole run on the server: let the timeline's first page go first.
      this.#stderrTimer = setTimeout(() => void this.#showStderrTail(), STDERR_LOAD_DELAY_MS);
    }
  }

  /** Some queued run's position changed: maybe this one's. */
  queueChanged(): void {
    this.#header.showQueuePosition();
  }

  showTab(id: string): void {
    this.#tab = id;
    for (const [name, { button, panel }] of this.#tabs) {
      button.setAttribute('aria-selected', String(name === id));
      panel.hidden = name !== id;
    }
    this.#tabs.get(id)?.tab.show?.();
    this.#redraw();
  }

  /** Seeds "what the run is doing now" from its newest events; the stream carries on from there. */
  async #seedActivity(lastSeq: number): Promise<void> {
    try {
      if (lastSeq > 0) {
        const events = await apiJson<AgentEvent[]>(
          runPath(this.#run.id, `/events?before=${lastSeq + 1}&limit=${ACTIVITY_SEED_EVENTS}`),
        );
        for (const event of events) this.activity.add(event);
      }
    } catch {
      // The stream's events still fill it in.
    }
    for (const event of this.#activityBacklog ?? []) this.activity.add(event);
    this.#activityBacklog = undefined;
    this.#header.tick();
  }

  async #showStderrTail(): Promise<void> {
    try {
      const events = await apiJson<AgentEvent[]>(
        runPath(
          this.#run.id,
          `/events?type=${STDERR_EVENT_TYPE}&before=${this.#run.lastSeq + 1}&limit=${STDERR_BANNER_LINES}`,
        ),
      );
      const lines = events.flatMap((event) => outputLinesOf(event)).slice(-STDERR_BANNER_LINES);
      this.#header.showStderr(lines);
    } catch {
      // The error message is shown anyway; the Console tab holds every line.
    }
  }

  #scheduleRedraw(): void {
    if (this.#redrawTimer !== undefined || document.hidden) return;
    this.#redrawTimer = setTimeout(() => {
      this.#redrawTimer = undefined;
      this.#redraw();
    }, PANEL_REDRAW_MS);
  }

  #redraw(): void {
    this.#tabs.get(this.#tab)?.tab.render?.(Date.now());
  }

  /** Once a second while visible. */
  tick(now: number): void {
    this.#header.tick(now);
    this.#approvals.tick(now);
    this.#tabs.get(this.#tab)?.tab.tick?.(now);
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
    clearTimeout(this.#stderrTimer);
    for (const { tab } of this.#tabs.values()) tab.close?.();
  }
}
