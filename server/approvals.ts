// Pending approvals: the list lives in each run's `control.approvals` (kept by run-effects as the
// events are written, so it is checkpointed with the run and rebuilt on recovery); this module
// decides them. The first decision wins, a timeout decides `onTimeout` with by "timeout", and the
// deadlines are re-armed from the runs when the server starts.
import {
  APPROVAL_DECIDED,
  APPROVAL_REQUESTED,
  type DecisionInput,
  type ListedApproval,
  type PendingApproval,
} from '../shared/approvals.ts';
import { ConflictError, NotFoundError } from '../shared/errors.ts';
import type { AgentEvent, JsonObject, Run } from '../shared/types.ts';
import { isTerminal, quote } from '../shared/validate.ts';
import type { Store, StoreListener } from './store.ts';

/** Who decided when the request does not say. */
export const DEFAULT_DECIDER = 'api';

interface Decided {
  decision: string;
  by: string;
}

export class Approvals implements StoreListener {
  #store: Store;
  /** Deadline timers per run, per approval id. */
  #timers = new Map<string, Map<string, NodeJS.Timeout>>();
  /** Runs that have (or just had) pending approvals, so listing never walks every run. */
  #runsWithPending = new Set<string>();
  /** Decisions being written: a second one in the meantime is refused naming this one. */
  #deciding = new Map<string, Decided>();

  constructor(store: Store) {
    this.#store = store;
    for (const run of store.runsNewestFirst()) {
      for (const entry of run.control?.approvals ?? []) this.#track(run.id, entry);
    }
  }

  onEvent(run: Run, event: AgentEvent): void {
    if (event.type !== APPROVAL_REQUESTED && event.type !== APPROVAL_DECIDED) return;
    const approvalId = event.payload.approvalId;
    if (typeof approvalId !== 'string') return;
    if (event.type === APPROVAL_DECIDED) return this.#clearTimer(run.id, approvalId);
    const entry = run.control?.approvals?.find((item) => item.approvalId === approvalId);
    if (entry?.seq === event.seq) this.#track(run.id, entry);
  }

  onRunChange(run: Run): void {
    if (!this.#runsWithPending.has(run.id)) return;
    if (!isTerminal(run.status)) {
      // All decided, or dropped with the run's control state (a requeued run): no deadline left.
      if (!run.control?.approvals) this.#forget(run.id);
      return;
    }
    this.#forget(run.id);
    // A PATCH to a terminal status closes the run's approvals as a terminal event does.
    if (run.control?.approvals) {
      const { approvals: _closed, ...control } = run.control;
      this.#store.setControl(run.id, control);
    }
  }

  onRunDeleted(id: string): void {
    this.#forget(id);
  }

  /** Every pending approval, newest first; of one run when `runId` is given. */
  list(runId?: string): ListedApproval[] {
    const listed: ListedApproval[] = [];
    const runIds = runId === undefined ? this.#runsWithPending : [runId];
    for (const id of runIds) {
      const run = this.#store.getRun(id);
      for (const entry of run?.control?.approvals ?? [])
        listed.push({ ...entry, runId: id, runTitle: run!.title });
    }
    return listed.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  }

  /** Records a decision; the first one wins, any later one is a ConflictError naming it. */
  async decide(run: Run, approvalId: string, input: DecisionInput): Promise<AgentEvent> {
    const key = `${run.id}\n${approvalId}`;
    const racing = this.#deciding.get(key);
    if (racing) throw this.#alreadyDecided(run, approvalId, racing);
    const pending = run.control?.approvals?.some((entry) => entry.approvalId === approvalId);
    if (!pending) throw this.#notPending(run, approvalId);
    const by = input.by ?? DEFAULT_DECIDER;
    this.#deciding.set(key, { decision: input.decision, by });
    try {
      const payload: JsonObject = { approvalId, decision: input.decision, by };
      if (input.note !== undefined) payload.note = input.note;
      const [result] = await this.#store.appendEvents(run.id, [
        { type: APPROVAL_DECIDED, payload },
      ]);
      if ('refused' in result!) throw result.refused;
      return result!.event;
    } finally {
      this.#deciding.delete(key);
    }
  }

  close(): void {
    for (const runId of [...this.#timers.keys()]) this.#forget(runId);
  }

  #alreadyDecided(run: Run, approvalId: string, first: Decided): ConflictError {
    return new ConflictError(
      `approval ${quote(approvalId)} of run ${quote(run.id)} was already decided: ${first.decision} by ${quote(first.by)}`,
    );
  }

  /** Why an approval that is not pending cannot be decided (read from the run's events). */
  #notPending(run: Run, approvalId: string): Error {
    const [decided] = this.#find(run.id, APPROVAL_DECIDED, approvalId);
    if (decided)
      return this.#alreadyDecided(run, approvalId, {
        decision: String(decided.payload.decision),
        by: String(decided.payload.by),
      });
    if (this.#find(run.id, APPROVAL_REQUESTED, approvalId).length > 0) {
      // Asked, never decided, no longer pending: the run ended, or its attempt was requeued.
      const why = isTerminal(run.status) ? `the run is ${run.status}` : 'the run was requeued';
      return new ConflictError(
        `approval ${quote(approvalId)} of run ${quote(run.id)} was closed undecided: ${why}`,
      );
    }
    return new NotFoundError(`approval ${quote(approvalId)} not found in run ${quote(run.id)}`);
  }

  #find(runId: string, type: string, approvalId: string): AgentEvent[] {
    return this.#store
      .readEvents(runId, { types: [type], q: approvalId, limit: 1000 })
      .filter((event) => event.payload.approvalId === approvalId);
  }

  #track(runId: string, entry: PendingApproval): void {
    this.#runsWithPending.add(runId);
    if (entry.expiresAt === undefined) return;
    let timers = this.#timers.get(runId);
    if (!timers) this.#timers.set(runId, (timers = new Map()));
    // A deadline that passed while the server was down is decided at once.
    const delayMs = Math.max(0, Date.parse(entry.expiresAt) - Date.now());
    const timer = setTimeout(() => this.#expire(runId, entry), delayMs);
    timer.unref();
    timers.set(entry.approvalId, timer);
  }

  #expire(runId: string, entry: PendingApproval): void {
    this.#clearTimer(runId, entry.approvalId);
    const run = this.#store.getRun(runId);
    if (!run) return;
    const seconds = Math.round(
      (Date.parse(entry.expiresAt!) - Date.parse(entry.requestedAt)) / 1000,
    );
    this.decide(run, entry.approvalId, {
      decision: entry.onTimeout ?? 'deny',
      by: 'timeout',
      note: `no decision within ${seconds} s`,
    }).catch(() => {
      // A decision that won the race, or a run that ended: nothing is left to time out.
    });
  }

  #clearTimer(runId: string, approvalId: string): void {
    const timers = this.#timers.get(runId);
    const timer = timers?.get(approvalId);
    if (!timer) return;
    clearTimeout(timer);
    timers!.delete(approvalId);
    if (timers!.size === 0) this.#timers.delete(runId);
  }

  #forget(runId: string): void {
    for (const timer of this.#timers.get(runId)?.values() ?? []) clearTimeout(timer);
    this.#timers.delete(runId);
    this.#runsWithPending.delete(runId);
  }
}
