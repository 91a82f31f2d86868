// The New run dialog: pick a task that an online worker offers, fill a field per parameter, and
// queue the run (POST /api/runs {task, input}); the page then opens it. With no worker online it
// says so and shows the command that would start one; a task nobody offers is queued anyway.
import { runDashboardHash } from '../shared/run-url.ts';
import type { Run, TaskOffer } from '../shared/types.ts';
import { apiJson } from './api-client.ts';
import { element } from './element.ts';
import { workerCommand, type WorkersView } from './workers-view.ts';

export class NewRunDialog {
  /** The sidebar's New run button. */
  readonly button = element('button', {
    type: 'button',
    class: 'new-run',
    text: 'New run',
    'aria-haspopup': 'dialog',
  });
  #workers: WorkersView;
  #dialog: HTMLDialogElement;
  #form = element('form', { class: 'new-run-form', method: 'dialog' });
  #task = element('input', {
    name: 'task',
    class: 'new-run-task',
    list: 'new-run-tasks',
    required: true,
    autocomplete: 'off',
    'aria-label': 'Task',
  });
  #options = element('datalist', { id: 'new-run-tasks' });
  #offline = element('div', { class: 'new-run-offline', role: 'status' });
  #unknown = element('p', { class: 'new-run-unknown', role: 'status', hidden: true });
  #params = element('div', { class: 'new-run-params' });
  #title = element('input', { name: 'title', 'aria-label': 'Title', placeholder: 'the task name' });
  #error = element('p', { class: 'new-run-error', role: 'alert', hidden: true });
  #submit = element('button', { type: 'submit', class: 'new-run-submit', text: 'Queue run' });

  constructor(workers: WorkersView) {
    this.#workers = workers;
    const cancel = element('button', { type: 'button', text: 'Cancel' });
    this.#form.append(
      element('h2', { text: 'New run' }),
      this.#offline,
      element('label', { class: 'field' }, element('span', { text: 'Task' }), this.#task),
      this.#options,
      this.#unknown,
      this.#params,
      element('label', { class: 'field' }, element('span', { text: 'Title' }), this.#title),
      this.#error,
      element('div', { class: 'new-run-actions' }, cancel, this.#submit),
    );
    this.#dialog = element(
      'dialog',
      { class: 'new-run-dialog', 'aria-label': 'New run' },
      this.#form,
    );
    document.body.append(this.#dialog);
    this.button.addEventListener('click', () => this.open());
    cancel.addEventListener('click', () => this.#dialog.close());
    this.#task.addEventListener('input', () => this.#showParams());
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#queue();
    });
    workers.onChange(() => {
      if (this.#dialog.open) this.#render();
    });
  }

  open(): void {
    this.#error.hidden = true;
    this.#render();
    if (!this.#task.value) this.#task.value = this.#workers.onlineTasks()[0]?.name ?? '';
    this.#showParams();
    this.#dialog.showModal();
    this.#task.focus();
  }

  #render(): void {
    const tasks = this.#workers.onlineTasks();
    this.#options.replaceChildren(
      ...tasks.map((task) => element('option', { value: task.name, text: task.name })),
    );
    this.#offline.hidden = tasks.length > 0;
    this.#offline.replaceChildren(
      element('p', { text: 'No worker is online, so nothing will run yet. Start one with:' }),
      element('code', { class: 'new-run-command', text: workerCommand() }),
    );
    this.#showParams();
  }

  #offer(): TaskOffer | undefined {
    return this.#workers.onlineTasks().find((task) => task.name === this.#task.value.trim());
  }

  /** One field per parameter of the chosen task; the values typed so far are kept. */
  #showParams(): void {
    const offer = this.#offer();
    const name = this.#task.value.trim();
    this.#unknown.hidden = offer !== undefined || name === '';
    this.#unknown.textContent = `No online worker offers "${name}" yet: the run waits in the queue until one does.`;
    const typed = new Map(
      [...this.#params.querySelectorAll('input')].map((input) => [input.name, input.value]),
    );
    this.#params.replaceChildren(
      ...(offer?.params ?? []).map((param) =>
        element(
          'label',
          { class: 'field' },
          element('span', { text: param.required ? param.name : `${param.name} (optional)` }),
          element('input', {
            name: param.name,
            'data-param': param.name,
            required: param.required,
            value: typed.get(param.name),
            'aria-label': param.name,
          }),
        ),
      ),
    );
  }

  async #queue(): Promise<void> {
    const input: Record<string, string> = {};
    for (const field of this.#params.querySelectorAll<HTMLInputElement>('input[data-param]')) {
      if (field.value !== '') input[field.dataset.param!] = field.value;
    }
    const task = this.#task.value.trim();
    const title = this.#title.value.trim();
    this.#submit.disabled = true;
    try {
      const run = await apiJson<Run>('/api/runs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task, input, ...(title ? { title } : {}) }),
      });
      this.#dialog.close();
      this.#title.value = '';
      location.hash = runDashboardHash(run.id);
    } catch (error) {
      this.#error.hidden = false;
      this.#error.textContent = `Could not queue the run: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      this.#submit.disabled = false;
    }
  }
}
