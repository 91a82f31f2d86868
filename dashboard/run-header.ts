// The run's header: title, status, times, counts, the full error message and every metadata key.
// Pause / resume / stop sit on the right of the heading, with any refusal on a line below it.
import type { Run } from '../shared/types.ts';
import { totalTokens } from '../shared/usage.ts';
import { element } from './element.ts';
import {
  formatAbsolute,
  formatAgo,
  formatCount,
  formatDuration,
  formatUsd,
  formatValue,
} from './format.ts';
import { RunControls } from './run-controls.ts';
import { isStale, runDurationMs } from './run-status.ts';

export class RunHeader {
  readonly element: HTMLElement;
  readonly actions: HTMLElement;
  readonly connection: HTMLElement;
  #title = element('h1', { class: 'run-title' });
  #status = element('span', { class: 'status-badge' });
  #stale = element('span', { class: 'stale-badge', text: 'stale', hidden: true });
  #id = element('span', { class: 'run-id mono' });
  #facts = element('dl', { class: 'run-facts' });
  #duration = element('dd', { class: 'duration' });
  #error = element('div', { class: 'run-error', role: 'alert', hidden: true });
  #errorText = element('span', { class: 'run-error-text' });
  #errorJump = element('button', {
    type: 'button',
    class: 'run-error-jump',
    text: 'Show where',
    'aria-label': 'Show the event that failed the run',
  });
  #metadata = element('dl', { class: 'run-metadata', 'aria-label': 'Metadata' });
  #controls: RunControls;
  #run: Run;

  /** `onRun` receives the run as a control request's answer left it. */
  constructor(run: Run, onShowError: () => void, onRun: (run: Run) => void) {
    this.#run = run;
    this.#controls = new RunControls(run, onRun);
    this.#error.append(this.#errorText, this.#errorJump);
    this.#errorJump.addEventListener('click', onShowError);
    this.connection = element('span', {
      class: 'connection',
      role: 'status',
      'aria-live': 'polite',
    });
    this.actions = element('div', { class: 'run-actions' });
    this.element = element(
      'header',
      { class: 'run-header' },
      element(
        'div',
        { class: 'run-heading' },
        element('div', { class: 'run-title-line' }, this.#status, this.#title, this.#stale),
        this.#controls.element,
        this.connection,
        this.actions,
      ),
      element('div', { class: 'run-sub' }, this.#id, this.#facts, this.#controls.producer),
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
    this.#status.textContent = run.status;
    this.#status.className = `status-badge st-${run.status}`;
    this.#id.textContent = run.id;
    this.#error.hidden = !run.errorMessage;
    this.#errorText.textContent = run.errorMessage ?? '';

    const facts: [string, string, string?][] = [
      ['started', formatAgo(run.startedAt), formatAbsolute(run.startedAt)],
    ];
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
    for (const [name, value, title] of facts) {
      this.#facts.append(
        element(
          'div',
          { class: `fact fact-${name.replace(' ', '-')}` },
          element('dt', { text: name }),
          element('dd', { text: value, title }),
        ),
      );
    }
    this.#facts.append(
      element('div', { class: 'fact' }, element('dt', { text: 'duration' }), this.#duration),
    );
    this.#facts.querySelector('.fact-errors')?.classList.toggle('has-errors', run.errorCount > 0);

    this.#metadata.replaceChildren();
    for (const [key, value] of Object.entries(run.metadata)) {
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

  /** Once a second: the duration of a live run and the staleness mark. */
  tick(now = Date.now()): void {
    this.#duration.textContent = formatDuration(runDurationMs(this.#run, now));
    this.#stale.hidden = !isStale(this.#run, now);
    (this.#facts.firstElementChild?.lastElementChild as HTMLElement | null)?.replaceChildren(
      formatAgo(this.#run.startedAt, now),
    );
  }
}
