// The run's header: status, title and controls; what the run is doing now (or how it ended); its
// task with its place in the queue while queued and the worker that claimed it once claimed (both
// live); its times, counts and producer; the full error message (with the last lines of stderr for a failed
// command) and every metadata key. Times are relative while the run is live (absolute on hover)
// and absolute once it has ended.
import type { OutputLine } from '../shared/output-lines.ts';
import type { Run, RunWorker } from '../shared/types.ts';
import { totalTokens, USAGE_METADATA_FIELDS, type Usage } from '../shared/usage.ts';
import { ActivityLine } from './activity-line.ts';
import { element } from './element.ts';
import { formatAbsolute, formatAgo, formatCount, formatUsd, formatValue } from './format.ts';
import type { QueuedRuns } from './queued-runs.ts';
import { describeActivity, type RunActivity } from './run-activity.ts';
import { RunControls } from './run-controls.ts';
import { isStale, isTerminalRun, STATUS_LABEL } from './run-status.ts';
import { WORKERS_HASH } from './workers-view.ts';

/** The worker that claimed a run: its name (leading to the Workers view) and, if other, its id. */
function workerFact(worker: RunWorker): HTMLElement {
  return element(
    'dd',
    {},
    element('a', { class: 'worker-name', href: WORKERS_HASH, text: worker.name }),
    worker.id !== worker.name && element('span', { class: 'worker-id mono', text: worker.id }),
  );
}

export class RunHeader {
  readonly element: HTMLElement;
  readonly actions: HTMLElement;
  readonly connection: HTMLElement;
  #title = element('h1', { class: 'run-title' });
  #status = element('span', { class: 'status-badge' });
  #stale = element('span', { class: 'stale-badge', text: 'stale', hidden: true });
  #id = element('span', { class: 'run-id mono' });
  #facts = element('dl', { class: 'run-facts' });
  #started = element('dd');
  /** Updated in place as the runs ahead leave the queue. */
  #queuePosition = element('dd');
  #queue: QueuedRuns;
  #activityLine = new ActivityLine('run-activity');
  #error = element('div', { class: 'run-error', role: 'alert', hidden: true });
  #errorText = element('span', { class: 'run-error-text' });
  #stderr = element('pre', {
    class: 'run-error-stderr',
    hidden: true,
    'aria-label': 'Last lines of stderr',
  });
  #errorJump = element('button', {
    type: 'button',
    class: 'run-error-jump',
    text: 'Show where',
    'aria-label': 'Show the event that failed the run',
  });
  #metadata = element('dl', { class: 'run-metadata', 'aria-label': 'Metadata' });
  #controls: RunControls;
  #run: Run;
  #activity: RunActivity;

  /** `onRun` receives the run as a control request's answer left it. */
  constructor(
    run: Run,
    activity: RunActivity,
    queue: QueuedRuns,
    onShowError: () => void,
    onRun: (run: Run) => void,
  ) {
    this.#run = run;
    this.#activity = activity;
    this.#queue = queue;
    this.#controls = new RunControls(run, onRun);
    this.#error.append(
      element('div', { class: 'run-error-line' }, this.#errorText, this.#errorJump),
      this.#stderr,
    );
    this.#errorJump.addEventListener('click', onShowError);
    this.connection = element('span', {
      class: 'connection',
      role: 'status',
      'aria-live': 'polite',
    });
    this.actions = element('div', { class: 'run-actions' });
    // On a phone the list and the run are two screens; this leads back to the list.
    const back = element('a', {
      class: 'back-link',
      href: '#/',
      text: '← Runs',
      'aria-label': 'Back to the runs list',
    });
    this.element = element(
      'header',
      { class: 'run-header' },
      element(
        'div',
        { class: 'run-heading' },
        element('div', { class: 'run-title-line' }, back, this.#status, this.#title, this.#stale),
        element('div', { class: 'run-heading-side' }, this.#controls.element, this.actions),
      ),
      this.#activityLine.element,
      element(
        'div',
        { class: 'run-sub' },
        this.#id,
        this.#facts,
        this.#controls.producer,
        this.connection,
      ),
      this.#controls.error,
      this.#error,
      this.#metadata,
    );
    this.update(run);
  }

  update(run: Run): void {
    this.#run = run;
    this.#controls.update(run);
    this.#title.textContent = run.title;
    this.#title.title = run.title;
    this.#status.textContent = STATUS_LABEL[run.status];
    this.#status.className = `status-badge st-${run.status}`;
    this.#status.dataset.status = run.status;
    this.#id.textContent = run.id;
    this.#error.hidden = !run.errorMessage;
    this.#errorText.textContent = run.errorMessage ?? '';

    const facts: [string, Node | string][] = [];
    if (run.task !== undefined) facts.push(['task', run.task]);
    if (run.status === 'queued' && run.task !== undefined) {
      facts.push(['queue', this.#queuePosition]);
    }
    if (run.worker) facts.push(['worker', workerFact(run.worker)]);
    facts.push(['started', this.#started]);
    if (run.endedAt) facts.push(['ended', formatAbsolute(run.endedAt)]);
    facts.push(
      ['events', formatCount(run.eventCount)],
      ['tool calls', formatCount(run.toolCallCount)],
      ['errors', formatCount(run.errorCount)],
    );
    // Usage only once a report named it: an unknown cost is not shown as $0.
    const tokens = totalTokens(run.usage);
    if (tokens !== undefined) facts.push(['tokens', formatCount(tokens)]);
    if (run.usage?.costUsd !== undefined) facts.push(['cost', formatUsd(run.usage.costUsd)]);
    this.#facts.replaceChildren();
    for (const [name, value] of facts) {
      this.#facts.append(
        element(
          'div',
          { class: `fact fact-${name.replace(' ', '-')}` },
          element('dt', { text: name }),
          typeof value === 'string' ? element('dd', { text: value }) : value,
        ),
      );
    }
    this.#facts.querySelector('.fact-errors')?.classList.toggle('has-errors', run.errorCount > 0);
    this.showQueuePosition();

    this.#metadata.replaceChildren();
    for (const [key, value] of Object.entries(run.metadata)) {
      if (mirrorsUsage(run, key, value)) continue;
      const text =
        key === 'costUsd' && typeof value === 'number'
          ? formatUsd(value)
          : Array.isArray(value) && value.every((v) => typeof v === 'string')
            ? value.join(', ')
            : formatValue(value);
      this.#metadata.append(
        element(
          'div',
          { class: 'meta-item' },
          element('dt', { text: key }),
          element('dd', { text, title: text }),
        ),
      );
    }
    this.#metadata.hidden = this.#metadata.childElementCount === 0;
    this.tick();
  }

  /** The run's place in the queue, as the page's copy of the queue has it now. */
  showQueuePosition(): void {
    const position = this.#queue.position(this.#run.id);
    let text = 'waiting';
    let title = '';
    if (position !== undefined) {
      const ahead = position - 1;
      text = `#${position} of ${this.#queue.size}`;
      title =
        ahead === 0
          ? 'Next to be claimed: workers claim the oldest queued run first'
          : `${ahead} queued ${ahead === 1 ? 'run' : 'runs'} ahead of this one; workers claim the oldest first`;
    }
    if (this.#queuePosition.textContent !== text) this.#queuePosition.textContent = text;
    this.#queuePosition.title = title;
  }

  /** The last lines the failed command wrote to stderr, under its error message. */
  showStderr(lines: OutputLine[]): void {
    this.#stderr.hidden = lines.length === 0;
    this.#stderr.textContent = lines.map((line) => line.text).join('\n');
  }

  /** Once a second: elapsed time, the open tool call's duration, ages and the staleness mark. */
  tick(now = Date.now()): void {
    this.#activityLine.update(describeActivity(this.#run, this.#activity, now));
    this.#controls.tick(now);
    this.#stale.hidden = !isStale(this.#run, now);
    const ended = isTerminalRun(this.#run);
    const started = ended
      ? formatAbsolute(this.#run.startedAt)
      : formatAgo(this.#run.startedAt, now);
    if (this.#started.textContent !== started) this.#started.textContent = started;
    this.#started.title = ended ? '' : formatAbsolute(this.#run.startedAt);
  }
}

/** A usage total the server copied into metadata: the facts above already show it. */
function mirrorsUsage(run: Run, key: string, value: unknown): boolean {
  const fields: readonly string[] = USAGE_METADATA_FIELDS;
  return fields.includes(key) && run.usage?.[key as keyof Usage] === value;
}
