// A run must never look alive after its producer is gone. A run whose control channel closed
// (control.detachedAt) is lost once it has been detached for --lost-after with no event; a run made
// with a lease is lost once the lease passes with no event and no re-attach. The server then ends
// it with run.error {reason: "producer-lost", by: "server"}. Runs a worker claimed are the work
// queue's (work-queue.ts), and runs with neither channel nor lease never expire.
import type { AgentEvent, Run } from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
import { leaseFrom, type Store, type StoreListener } from './store.ts';

/** A lost run whose run.error could not be written is tried again after this long. */
const RETRY_LOST_MS = 1000;

interface Watch {
  /** Epoch ms at which a detached producer is lost, while it stays detached. */
  detachedUntil?: number;
  /** Epoch ms at which the lease runs out. */
  leaseUntil?: number;
  leaseSeconds?: number;
  timer?: NodeJS.Timeout;
  timerAt?: number;
}

export class ProducerLeases implements StoreListener {
  readonly #store: Store;
  readonly #lostAfterMs: number;
  readonly #log: (line: string) => void;
  readonly #watches = new Map<string, Watch>();
  #closed = false;

  constructor(store: Store, lostAfterMs: number, log: (line: string) => void) {
    this.#store = store;
    this.#lostAfterMs = lostAfterMs;
    this.#log = log;
  }

  /**
   * After a restart every timer starts afresh: a run that had a channel counts as detached from
   * now, and a lease runs its full length from now. So a restart never ends a run by itself.
   */
  start(): void {
    const now = Date.now();
    for (const run of [...this.#store.runsNewestFirst()]) {
      if (!this.#watched(run)) continue;
      if (run.control && !run.control.producerAttached) {
        this.#store.setControl(run.id, { ...run.control, detachedAt: new Date(now).toISOString() });
      } else this.onRunChange(run);
    }
  }

  close(): void {
    this.#closed = true;
    for (const watch of this.#watches.values()) clearTimeout(watch.timer);
    this.#watches.clear();
  }

  #watched(run: Run): boolean {
    return (
      !isTerminal(run.status) &&
      run.status !== 'queued' &&
      run.worker === undefined &&
      (run.lease !== undefined || run.control !== undefined)
    );
  }

  onRunChange(run: Run): void {
    let watch = this.#watches.get(run.id);
    if (!this.#watched(run)) {
      if (watch) this.#forget(run.id, watch);
      return;
    }
    const now = Date.now();
    if (!watch) {
      this.#watches.set(run.id, (watch = {}));
      if (run.lease) {
        watch.leaseSeconds = run.lease.seconds;
        run.lease = leaseFrom(run.lease.seconds, now);
        watch.leaseUntil = Date.parse(run.lease.expiresAt);
      }
    }
    const detached = run.control?.producerAttached === false && run.control.detachedAt;
    if (detached && watch.detachedUntil === undefined) {
      watch.detachedUntil = now + this.#lostAfterMs;
    } else if (!detached && watch.detachedUntil !== undefined) {
      // Re-attached: no longer counting down, and the lease starts over.
      delete watch.detachedUntil;
      this.#extendLease(run, watch, now);
    }
    this.#arm(run.id, watch);
  }

  /** Every event extends a lease and restarts a detached producer's window. */
  onEvent(run: Run, _event: AgentEvent): void {
    const watch = this.#watches.get(run.id);
    if (!watch) return;
    const now = Date.now();
    if (watch.detachedUntil !== undefined) watch.detachedUntil = now + this.#lostAfterMs;
    this.#extendLease(run, watch, now);
  }

  onRunDeleted(id: string): void {
    const watch = this.#watches.get(id);
    if (watch) this.#forget(id, watch);
  }

  #extendLease(run: Run, watch: Watch, now: number): void {
    if (watch.leaseSeconds === undefined) return;
    watch.leaseUntil = now + watch.leaseSeconds * 1000;
    run.lease = leaseFrom(watch.leaseSeconds, now);
  }

  #forget(id: string, watch: Watch): void {
    clearTimeout(watch.timer);
    this.#watches.delete(id);
  }

  /**
   * One timer per run, at its earliest deadline. Events only move the deadlines (a number each);
   * a timer that finds its deadline moved re-arms instead of ending the run.
   */
  #arm(id: string, watch: Watch): void {
    const at = Math.min(
      watch.detachedUntil ?? Number.POSITIVE_INFINITY,
      watch.leaseUntil ?? Number.POSITIVE_INFINITY,
    );
    if (at === Number.POSITIVE_INFINITY) {
      clearTimeout(watch.timer);
      delete watch.timer;
      return;
    }
    if (watch.timer && watch.timerAt! <= at) return;
    clearTimeout(watch.timer);
    watch.timerAt = at;
    watch.timer = setTimeout(() => this.#check(id), Math.max(0, at - Date.now())).unref();
  }

  #check(id: string): void {
    const watch = this.#watches.get(id);
    if (!watch || this.#closed) return;
    delete watch.timer;
    const now = Date.now();
    const detachedLost = watch.detachedUntil !== undefined && now >= watch.detachedUntil;
    const leaseLost = watch.leaseUntil !== undefined && now >= watch.leaseUntil;
    if (!detachedLost && !leaseLost) return this.#arm(id, watch);
    const message = detachedLost
      ? `producer lost: its control channel closed and nothing was heard for ${this.#lostAfterMs / 1000} s`
      : `producer lost: its lease of ${watch.leaseSeconds} s passed with no event`;
    this.#forget(id, watch);
    this.#store
      .appendEvents(id, [
        {
          type: 'run.error',
          level: 'error',
          payload: { message, reason: 'producer-lost', by: 'server' },
        },
      ])
      .catch((error: unknown) => {
        this.#log(`cannot end lost run ${JSON.stringify(id)}: ${(error as Error).message}`);
        const run = this.#store.getRun(id);
        if (!run || this.#closed) return;
        const retry: Watch = { detachedUntil: Date.now() + RETRY_LOST_MS };
        this.#watches.set(id, retry);
        this.#arm(id, retry);
      });
  }
}
