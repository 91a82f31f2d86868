// The work queue: queued runs, oldest first, and the workers that claim them. A worker holds its
// claims stream open (GET /api/workers/:id/claims); whenever a run is queued, a worker connects or
// a slot frees up, the queue assigns runs to workers with free slots in one synchronous step that
// writes the claim to the run index before the worker is told, so no run is ever claimed twice and
// no worker gets more than its concurrency. A worker gone past --lost-after loses its claims: each
// run is requeued while attempts remain, else ends with reason "worker-lost".
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { GONE_WORKER_KEEP_MS } from '../shared/constants.ts';
import { NotFoundError } from '../shared/errors.ts';
import { formatSse } from '../shared/sse.ts';
import type {
  ClaimMessage,
  EventInput,
  JsonObject,
  Run,
  WorkerAnnouncement,
  WorkerInfo,
} from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
import type { Store, StoreListener } from './store.ts';
import type { StreamHub } from './stream-hub.ts';

/** After a claim the disk refused, the queue tries again this much later. */
const RETRY_DISPATCH_MS = 1000;

interface WorkerEntry {
  announcement: WorkerAnnouncement & { id: string };
  tasks: Set<string>;
  running: Set<string>;
  startedAt: string;
  lastSeenAt: number;
  connection?: ServerResponse;
  lostTimer?: NodeJS.Timeout;
}

interface QueueItem {
  id: string;
  queuedAt: string;
}

export class WorkQueue implements StoreListener {
  readonly #store: Store;
  readonly #hub: StreamHub;
  readonly #lostAfterMs: number;
  readonly #log: (line: string) => void;
  readonly #workers = new Map<string, WorkerEntry>();
  /** Queued runs oldest first; entries whose run left the queue are dropped when met. */
  #queue: QueueItem[] = [];
  readonly #queued = new Set<string>();
  readonly #claimedBy = new Map<string, string>();
  /** Queued runs being stopped: out of the queue until their stop is recorded. */
  readonly #withdrawn = new Set<string>();
  #scheduled = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    store: Store,
    hub: StreamHub,
    options: { lostAfterMs: number; log(line: string): void },
  ) {
    this.#store = store;
    this.#hub = hub;
    this.#lostAfterMs = options.lostAfterMs;
    this.#log = options.log;
  }

  /**
   * Rebuilds the queue from the store after a start: queued runs in their order, and claims of
   * workers not (yet) back, whose --lost-after window starts now.
   */
  start(): void {
    const runs = [...this.#store.runsNewestFirst()].reverse();
    for (const run of runs) {
      if (run.status === 'queued' && run.task !== undefined) this.#enqueue(run);
      else if (run.worker && !isTerminal(run.status)) {
        const entry =
          this.#workers.get(run.worker.id) ??
          this.#entry({
            id: run.worker.id,
            name: run.worker.name,
            host: '',
            pid: 0,
            concurrency: 1,
            tasks: [],
          });
        entry.running.add(run.id);
        this.#claimedBy.set(run.id, run.worker.id);
      }
    }
    for (const entry of this.#workers.values()) this.#armLost(entry);
  }

  close(): void {
    clearTimeout(this.#retry);
    for (const entry of this.#workers.values()) clearTimeout(entry.lostTimer);
  }

  /** A worker says who it is; the same id again (a reconnect) updates it and keeps its claims. */
  announce(announcement: WorkerAnnouncement): { worker: WorkerInfo; created: boolean } {
    const id = announcement.id ?? `worker-${randomBytes(6).toString('hex')}`;
    const existing = this.#workers.get(id);
    if (existing) {
      existing.announcement = { ...announcement, id };
      existing.tasks = new Set(announcement.tasks.map((task) => task.name));
      existing.lastSeenAt = Date.now();
      this.#changed(existing);
      return { worker: this.#info(existing), created: false };
    }
    const entry = this.#entry({ ...announcement, id });
    this.#armLost(entry);
    this.#changed(entry);
    return { worker: this.#info(entry), created: true };
  }

  #entry(announcement: WorkerAnnouncement & { id: string }): WorkerEntry {
    const entry: WorkerEntry = {
      announcement,
      tasks: new Set(announcement.tasks.map((task) => task.name)),
      running: new Set(),
      startedAt: new Date().toISOString(),
      lastSeenAt: Date.now(),
    };
    this.#workers.set(announcement.id, entry);
    return entry;
  }

  /** The worker's claims stream: every claim it holds now, then each new one as it is made. */
  connect(workerId: string, res: ServerResponse): void {
    const entry = this.#existing(workerId);
    entry.connection?.end();
    entry.connection = res;
    clearTimeout(entry.lostTimer);
    delete entry.lostTimer;
    this.#hub.track(res);
    for (const runId of entry.running) {
      const run = this.#store.getRun(runId);
      if (run) this.#send(res, run);
    }
    res.on('close', () => {
      if (entry.connection !== res) return;
      delete entry.connection;
      entry.lastSeenAt = Date.now();
      this.#armLost(entry);
      this.#changed(entry);
    });
    this.#changed(entry);
    this.#schedule();
  }

  get(workerId: string): WorkerInfo {
    return this.#info(this.#existing(workerId));
  }

  /** Every worker, oldest first; one gone for long with nothing claimed is forgotten. */
  list(): WorkerInfo[] {
    const now = Date.now();
    for (const [id, entry] of this.#workers) {
      const forgotten = !entry.connection && entry.running.size === 0;
      if (forgotten && now - entry.lastSeenAt > GONE_WORKER_KEEP_MS) this.#workers.delete(id);
    }
    return [...this.#workers.values()].map((entry) => this.#info(entry));
  }

  /** Takes a queued run out of the queue before it is stopped, so no worker can get it meanwhile. */
  withdraw(runId: string): void {
    this.#queued.delete(runId);
    this.#withdrawn.add(runId);
  }

  /** Puts back a run `withdraw` took out, if it is still queued (its stop was refused). */
  restore(runId: string): void {
    if (!this.#withdrawn.delete(runId)) return;
    const run = this.#store.getRun(runId);
    if (run) this.onRunChange(run);
  }

  onRunChange(run: Run): void {
    if (run.status === 'queued' && run.task !== undefined) {
      const waiting = this.#queued.has(run.id) || this.#withdrawn.has(run.id);
      if (!waiting && !this.#claimedBy.has(run.id)) {
        this.#enqueue(run);
        this.#schedule();
      }
      return;
    }
    const workerId = this.#claimedBy.get(run.id);
    if (workerId !== undefined && (isTerminal(run.status) || run.worker?.id !== workerId))
      this.#release(run.id, workerId);
  }

  onRunDeleted(id: string): void {
    this.#queued.delete(id);
    const workerId = this.#claimedBy.get(id);
    if (workerId !== undefined) this.#release(id, workerId);
  }

  /** In queuedAt order: a requeued run keeps its place ahead of newer ones. */
  #enqueue(run: Run): void {
    const item = { id: run.id, queuedAt: run.queuedAt ?? run.startedAt };
    this.#queued.add(run.id);
    let at = this.#queue.length;
    while (at > 0 && this.#queue[at - 1]!.queuedAt > item.queuedAt) at--;
    this.#queue.splice(at, 0, item);
  }

  #release(runId: string, workerId: string): void {
    this.#claimedBy.delete(runId);
    const entry = this.#workers.get(workerId);
    if (!entry) return;
    entry.running.delete(runId);
    this.#changed(entry);
    this.#schedule();
  }

  /** Dispatch runs once per turn, after whatever queued or freed work has settled. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#dispatch());
  }

  #dispatch(): void {
    this.#scheduled = false;
    const free = [...this.#workers.values()].filter(
      (entry) => entry.connection && entry.running.size < entry.announcement.concurrency,
    );
    if (free.length === 0 || this.#queue.length === 0) return;
    const kept: QueueItem[] = [];
    let i = 0;
    for (; i < this.#queue.length && free.length > 0; i++) {
      const item = this.#queue[i]!;
      const run = this.#queued.has(item.id) ? this.#store.getRun(item.id) : undefined;
      if (!run || run.status !== 'queued') {
        this.#queued.delete(item.id);
        continue;
      }
      const worker = pickWorker(free, run.task!);
      if (!worker) {
        kept.push(item);
        continue;
      }
      try {
        this.#claim(run, worker);
      } catch (error) {
        this.#log(`cannot claim run ${JSON.stringify(run.id)}: ${(error as Error).message}`);
        kept.push(item);
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => this.#schedule(), RETRY_DISPATCH_MS).unref();
        i++;
        break;
      }
      if (worker.running.size >= worker.announcement.concurrency)
        free.splice(free.indexOf(worker), 1);
    }
    this.#queue = kept.concat(this.#queue.slice(i));
  }

  /** One claim: on disk first, then in memory, then told to the worker. */
  #claim(run: Run, entry: WorkerEntry): void {
    const { id, name } = entry.announcement;
    const claimed = this.#store.updateRun(run.id, (current) => ({
      ...current,
      status: 'running',
      worker: { id, name },
      attempt: (current.attempt ?? 0) + 1,
    }));
    this.#queued.delete(run.id);
    this.#claimedBy.set(run.id, id);
    entry.running.add(run.id);
    this.#send(entry.connection!, claimed);
    this.#append(run.id, {
      type: 'run.claimed',
      payload: {
        message: `Claimed by worker ${name} (attempt ${claimed.attempt})`,
        worker: { id, name },
        attempt: claimed.attempt!,
      },
    });
    this.#changed(entry);
  }

  #send(res: ServerResponse, run: Run): void {
    const message: ClaimMessage = { kind: 'claim', run };
    res.write(formatSse(JSON.stringify(message)));
  }

  #armLost(entry: WorkerEntry): void {
    clearTimeout(entry.lostTimer);
    entry.lostTimer = setTimeout(() => this.#lose(entry), this.#lostAfterMs).unref();
  }

  /** The worker stayed away past --lost-after: its runs go back to the queue or end. */
  #lose(entry: WorkerEntry): void {
    delete entry.lostTimer;
    if (entry.connection) return;
    const { id, name } = entry.announcement;
    const why = `worker ${name} (${id}) was gone for ${this.#lostAfterMs / 1000} s`;
    for (const runId of [...entry.running]) {
      this.#claimedBy.delete(runId);
      entry.running.delete(runId);
      const run = this.#store.getRun(runId);
      if (!run || isTerminal(run.status)) continue;
      const attempt = run.attempt ?? 1;
      try {
        if (attempt < (run.maxAttempts ?? 1)) {
          // The attempt that asked is gone: its questions close with it, and the event says so.
          const closed = run.control?.approvals?.map((entry) => entry.approvalId) ?? [];
          this.#store.updateRun(runId, ({ worker: _, control: __, ...rest }) => ({
            ...rest,
            status: 'queued',
          }));
          const payload: JsonObject = {
            message: `Requeued: ${why}`,
            reason: 'worker-lost',
            attempt,
          };
          if (closed.length > 0) {
            payload.message += ` (${closed.length} pending approval${closed.length === 1 ? '' : 's'} closed)`;
            payload.closedApprovals = closed;
          }
          this.#append(runId, { type: 'run.requeued', level: 'warn', payload });
        } else {
          this.#append(runId, {
            type: 'run.error',
            level: 'error',
            payload: { message: `worker lost: ${why}`, reason: 'worker-lost', by: 'server' },
          });
        }
      } catch (error) {
        this.#log(`cannot requeue run ${JSON.stringify(runId)}: ${(error as Error).message}`);
      }
    }
    this.#changed(entry);
  }

  #append(runId: string, event: EventInput): void {
    this.#store.appendEvents(runId, [event]).catch((error: unknown) => {
      this.#log(`cannot record ${event.type} on ${JSON.stringify(runId)}: ${String(error)}`);
    });
  }

  #existing(workerId: string): WorkerEntry {
    const entry = this.#workers.get(workerId);
    if (!entry)
      throw new NotFoundError(
        `worker ${JSON.stringify(workerId)} not found; announce it with POST /api/workers`,
      );
    return entry;
  }

  #info(entry: WorkerEntry): WorkerInfo {
    const { id, name, host, pid, concurrency, tasks } = entry.announcement;
    const connected = entry.connection !== undefined;
    return {
      id,
      name,
      host,
      pid,
      concurrency,
      tasks,
      running: [...entry.running],
      startedAt: entry.startedAt,
      lastSeenAt: new Date(connected ? Date.now() : entry.lastSeenAt).toISOString(),
      state: !connected ? 'gone' : entry.running.size > 0 ? 'busy' : 'idle',
    };
  }

  #changed(entry: WorkerEntry): void {
    this.#hub.announce({ kind: 'worker', worker: this.#info(entry) });
  }
}

/** Of the free workers offering `task`, the one with the most free slots. */
function pickWorker(free: WorkerEntry[], task: string): WorkerEntry | undefined {
  let best: WorkerEntry | undefined;
  let bestFree = 0;
  for (const entry of free) {
    if (!entry.tasks.has(task)) continue;
    const slots = entry.announcement.concurrency - entry.running.size;
    if (slots > bestFree) {
      best = entry;
      bestFree = slots;
    }
  }
  return best;
}
