// Tell a running agent something: a one-line box under the run header. It says whether the
// directive can reach the process (`exec --stdin directives`, the simulated runner) and shows
// when the producer confirms it with directive.delivered.
import { DIRECTIVE_DELIVERED, MAX_DIRECTIVE_LENGTH } from '../shared/approvals.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { apiJson, runPath } from './api-client.ts';
import { DASHBOARD_DECIDER } from './approval-card.ts';
import { element } from './element.ts';
import { isTerminalRun } from './run-status.ts';

export class DirectiveBox {
  readonly element: HTMLFormElement;
  #runId: string;
  #input: HTMLInputElement;
  #send: HTMLButtonElement;
  #status: HTMLElement;
  #hint: HTMLElement;
  /** The directive sent from here that waits for its confirmation. */
  #waiting: string | undefined;
  /** Confirmations seen, for one that overtakes the answer to our POST. */
  #delivered = new Set<string>();

  constructor(run: Run) {
    this.#runId = run.id;
    this.#input = element('input', {
      type: 'text',
      class: 'directive-input',
      placeholder: 'Tell the agent… (e.g. skip the flaky test)',
      'aria-label': 'Directive for the running agent',
      maxlength: MAX_DIRECTIVE_LENGTH,
    });
    this.#send = element('button', {
      type: 'submit',
      text: 'Send',
      'aria-label': 'Send directive',
    });
    this.#status = element('span', { class: 'directive-status', role: 'status' });
    this.#hint = element('p', { class: 'directive-hint' });
    this.element = element(
      'form',
      { class: 'directive-box', 'aria-label': 'Directive' },
      element('div', { class: 'directive-row' }, this.#input, this.#send, this.#status),
      this.#hint,
    );
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit();
    });
    this.update(run);
  }

  update(run: Run): void {
    this.element.hidden = isTerminalRun(run);
    const reads = run.metadata.directives;
    this.#hint.textContent =
      reads === 'none'
        ? 'This process does not read directives: they are recorded only (start it with agent-ops exec --stdin directives).'
        : run.control?.producerAttached
          ? ''
          : 'No producer is attached: a directive is recorded, and delivered when one reconnects.';
    this.#hint.hidden = this.#hint.textContent === '';
  }

  receive(event: AgentEvent): void {
    if (event.type !== DIRECTIVE_DELIVERED) return;
    this.#delivered.add(String(event.payload.directiveId));
    if (event.payload.directiveId !== this.#waiting) return;
    this.#waiting = undefined;
    this.#status.textContent = 'delivered ✓';
  }

  async #submit(): Promise<void> {
    const text = this.#input.value.trim();
    if (text === '') return;
    this.#send.disabled = true;
    try {
      const event = await apiJson<AgentEvent>(runPath(this.#runId, '/directives'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text, by: DASHBOARD_DECIDER }),
      });
      const id = String(event.payload.directiveId);
      const delivered = this.#delivered.has(id);
      this.#waiting = delivered ? undefined : id;
      this.#status.textContent = delivered ? 'delivered ✓' : 'sent, waiting for the agent…';
      this.#input.value = '';
    } catch (error) {
      this.#status.textContent = error instanceof Error ? error.message : String(error);
    } finally {
      this.#send.disabled = false;
    }
  }
}
