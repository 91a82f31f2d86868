// Pause / Resume / Stop for one run, and whether a producer is there to carry them out. A request
// is shown from the click until it is settled: in flight, then (with a producer) waiting for the
// producer's confirmation, which arrives as a status change on the run feed. Stop asks first.
import { CONTROL_ACTIONS, CONTROL_ALLOWED_FROM } from '../shared/control-transitions.ts';
import type { ControlAction, Run } from '../shared/types.ts';
import { ApiError, apiJson, runPath } from './api-client.ts';
import { element } from './element.ts';
import { producerView } from './producer-state.ts';
import { isTerminalRun } from './run-status.ts';

const LABEL: Record<ControlAction, string> = { pause: 'Pause', resume: 'Resume', stop: 'Stop' };
const DOING: Record<ControlAction, string> = {
  pause: 'Pausing',
  resume: 'Resuming',
  stop: 'Stopping',
};

export class RunControls {
  /** The buttons and the pending note: the header's `.run-controls` slot. */
  readonly element: HTMLElement;
  /** Whether a producer holds the control channel, shown with the run's facts. */
  readonly producer = element('span', { class: 'producer' });
  /** A refused or failed request, on a line of its own below the heading. */
  readonly error: HTMLElement;
  #run: Run;
  #onRun: (run: Run) => void;
  #note = element('span', { class: 'control-note', role: 'status', 'aria-live': 'polite' });
  #buttons = new Map<ControlAction, HTMLButtonElement>();
  #buttonGroup = element('div', { class: 'control-buttons' });
  #confirm: HTMLElement;
  #confirmStop = element('button', {
    type: 'button',
    class: 'confirm-stop',
    text: 'Stop run',
    'aria-label': 'Confirm stop',
  });
  #cancelStop = element('button', { type: 'button', text: 'Cancel', 'aria-label': 'Cancel stop' });
  #errorText = element('span', { class: 'control-error-text' });
  /** The request whose answer has not arrived yet. */
  #inFlight: ControlAction | undefined;
  #confirming = false;

  constructor(run: Run, onRun: (run: Run) => void) {
    this.#run = run;
    this.#onRun = onRun;
    for (const action of CONTROL_ACTIONS) {
      const button = element('button', {
        type: 'button',
        class: `control control-${action}`,
        text: LABEL[action],
        'aria-label': `${LABEL[action]} the run`,
      });
      button.addEventListener('click', () => {
        if (action === 'stop') this.#askToStop(true);
        else void this.#send(action);
      });
      this.#buttons.set(action, button);
      this.#buttonGroup.append(button);
    }
    this.#confirm = element(
      'div',
      { class: 'stop-confirm', role: 'group', 'aria-label': 'Stop this run?', hidden: true },
      element('span', { class: 'stop-question', text: 'Stop this run?' }),
      this.#confirmStop,
      this.#cancelStop,
    );
    this.#confirmStop.addEventListener('click', () => {
      this.#askToStop(false);
      void this.#send('stop');
    });
    this.#cancelStop.addEventListener('click', () => {
      this.#askToStop(false);
      this.#buttons.get('stop')!.focus();
    });
    this.#confirm.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      // Escape here only cancels the stop; it must not reach the page's "close the run" key.
      event.stopPropagation();
      this.#cancelStop.click();
    });

    const dismiss = element('button', {
      type: 'button',
      class: 'icon-button',
      text: '×',
      'aria-label': 'Dismiss the control error',
    });
    dismiss.addEventListener('click', () => this.#showError(undefined));
    this.error = element(
      'div',
      { class: 'control-error', role: 'alert', hidden: true },
      this.#errorText,
      dismiss,
    );
    this.element = element(
      'div',
      { class: 'run-controls', role: 'group', 'aria-label': 'Run controls' },
      this.#note,
      this.#buttonGroup,
      this.#confirm,
    );
    this.update(run);
  }

  update(run: Run): void {
    this.#run = run;
    const terminal = isTerminalRun(run);
    const attached = run.control?.producerAttached === true;
    const pending = run.control?.pending;
    if (terminal) this.#confirming = false;

    this.tick(Date.now());

    // A request the producer has not confirmed blocks repeating it; a stop blocks everything.
    const waiting = attached ? pending : undefined;
    const busy = this.#inFlight !== undefined || waiting === 'stop';
    for (const [action, button] of this.#buttons) {
      button.disabled =
        busy || waiting === action || !CONTROL_ALLOWED_FROM[action].includes(run.status);
    }
    this.#buttonGroup.hidden = terminal || this.#confirming;
    this.#confirm.hidden = !this.#confirming;

    let note = '';
    if (this.#inFlight) note = `${DOING[this.#inFlight]}…`;
    else if (waiting) note = `${DOING[waiting]}… waiting for the producer`;
    else if (pending && !terminal)
      note = `${LABEL[pending]} requested; the producer left before confirming it`;
    this.#note.textContent = note;
    this.#note.dataset.pending = waiting ?? this.#inFlight ?? '';
  }

  /** Once a second: "producer disconnected 12 s ago" counts up. */
  tick(now: number): void {
    const view = producerView(this.#run, now);
    this.producer.hidden = view.text === '';
    this.producer.dataset.state = view.state;
    this.producer.dataset.attached = String(view.state === 'attached');
    if (this.producer.textContent !== view.text) this.producer.textContent = view.text;
    this.producer.title = view.title;
  }

  #askToStop(asking: boolean): void {
    this.#confirming = asking;
    this.update(this.#run);
    if (asking) this.#cancelStop.focus();
  }

  async #send(action: ControlAction): Promise<void> {
    const runId = this.#run.id;
    this.#inFlight = action;
    this.#showError(undefined);
    this.update(this.#run);
    try {
      const run = await apiJson<Run>(runPath(runId, `/${action}`), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      this.#inFlight = undefined;
      this.#onRun(run);
      // The feed may already hold a newer copy, in which case `run` was not applied: redraw anyway.
      this.update(this.#run);
    } catch (error) {
      this.#inFlight = undefined;
      this.#showError(
        error instanceof ApiError
          ? error.message
          : `Could not reach the server to ${action} the run: ${error instanceof Error ? error.message : String(error)}`,
      );
      this.update(this.#run);
      // A refusal means our copy of the run is behind: fetch the real one so the buttons match it.
      if (error instanceof ApiError && error.status === 409) {
        try {
          this.#onRun(await apiJson<Run>(runPath(runId)));
        } catch {
          // the feed will bring it once the server is reachable again
        }
      }
    }
  }

  #showError(message: string | undefined): void {
    this.error.hidden = message === undefined;
    this.#errorText.textContent = message ?? '';
  }
}
