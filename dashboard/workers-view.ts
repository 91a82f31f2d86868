// The Workers view (#/workers): every worker the server knows, its tasks and what it is running,
// live from GET /api/workers and the worker changes on /api/stream. It also tells the New run
// dialog which tasks online workers offer.
import { runDashboardHash } from '../shared/run-url.ts';
import type { RunChange, TaskOffer, WorkerInfo } from '../shared/types.ts';
import { apiJson } from './api-client.ts';
import { element } from './element.ts';
import { formatAbsolute, formatAgo } from './format.ts';
import { LiveStream } from './live-stream.ts';

export const WORKERS_HASH = '#/workers';

/** The command that would bring a worker online for this server. */
export function workerCommand(): string {
  return `agent-ops worker --simulate --server ${location.origin}`;
}

export class WorkersView {
  readonly element: HTMLElement;
  #workers = new Map<string, WorkerInfo>();
  #list = element('div', { class: 'workers-list', role: 'list' });
  #empty = element('p', { class: 'workers-empty', role: 'status' });
  #listeners = new Set<() => void>();

  constructor() {
    this.element = element(
      'section',
      { class: 'workers-view', 'aria-label': 'Workers' },
      element('h1', { class: 'workers-title', text: 'Workers' }),
      this.#empty,
      this.#list,
    );
    new LiveStream({
      path: '/api/stream',
      onOpen: () => void this.#load(),
      onMessage: (message) => {
        const change = JSON.parse(message.data) as RunChange;
        if (change.kind !== 'worker') return;
        this.#workers.set(change.worker.id, change.worker);
        this.#changed();
      },
    });
  }

  /** Told whenever the workers change (the New run dialog redraws its tasks). */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /** Tasks offered by online workers, by name; parameters of the same task are merged. */
  onlineTasks(): TaskOffer[] {
    const tasks = new Map<string, TaskOffer>();
    for (const worker of this.#workers.values()) {
      if (worker.state === 'gone') continue;
      for (const task of worker.tasks) {
        const known = tasks.get(task.name);
        if (!known) tasks.set(task.name, { ...task, params: [...task.params] });
        else
          for (const param of task.params)
            if (!known.params.some((p) => p.name === param.name)) known.params.push(param);
      }
    }
    return [...tasks.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async #load(): Promise<void> {
    try {
      const workers = await apiJson<WorkerInfo[]>('/api/workers');
      this.#workers = new Map(workers.map((worker) => [worker.id, worker]));
      this.#changed();
    } catch (error) {
      this.#empty.hidden = false;
      this.#empty.textContent = `Could not load workers: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  #changed(): void {
    this.render();
    for (const listener of this.#listeners) listener();
  }

  render(now = Date.now()): void {
    const workers = [...this.#workers.values()].sort(
      (a, b) =>
        Number(a.state === 'gone') - Number(b.state === 'gone') || a.name.localeCompare(b.name),
    );
    this.#empty.hidden = workers.length > 0;
    if (workers.length === 0)
      this.#empty.textContent = `No workers yet. Start one with: ${workerCommand()}`;
    this.#list.replaceChildren(...workers.map((worker) => this.#card(worker, now)));
  }

  #card(worker: WorkerInfo, now: number): HTMLElement {
    const since =
      worker.state === 'gone'
        ? `gone since ${formatAgo(worker.lastSeenAt, now)}`
        : `online since ${formatAgo(worker.startedAt, now)}`;
    const runs =
      worker.running.length === 0
        ? element('span', { class: 'worker-idle', text: 'nothing running' })
        : element(
            'span',
            { class: 'worker-runs' },
            ...worker.running.map((id) =>
              element('a', { class: 'worker-run mono', href: runDashboardHash(id), text: id }),
            ),
          );
    return element(
      'div',
      {
        class: 'worker-card',
        role: 'listitem',
        'data-worker-id': worker.id,
        'data-state': worker.state,
      },
      element(
        'div',
        { class: 'worker-line' },
        element('span', { class: `worker-state ws-${worker.state}`, text: worker.state }),
        element('strong', { class: 'worker-name', text: worker.name }),
        element('span', {
          class: 'worker-load',
          text: `${worker.running.length}/${worker.concurrency} running`,
        }),
        element('span', {
          class: 'worker-since',
          text: since,
          title: formatAbsolute(worker.state === 'gone' ? worker.lastSeenAt : worker.startedAt),
        }),
      ),
      element(
        'div',
        { class: 'worker-line sub' },
        element('span', { class: 'worker-host mono', text: `${worker.host} · pid ${worker.pid}` }),
        element('span', {
          class: 'worker-tasks',
          text: `tasks: ${worker.tasks.map((task) => task.name).join(', ') || 'none'}`,
        }),
      ),
      element('div', { class: 'worker-line sub' }, runs),
    );
  }
}
