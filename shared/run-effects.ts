// How a stored event changes its run: the table "What events do to a run" in docs/protocol.md.
import {
  APPROVAL_DECIDED,
  APPROVAL_REQUESTED,
  DIRECTIVE,
  isApprovalDecision,
  type PendingApproval,
} from './approvals.ts';
import { CONTROL_CONFIRMATION } from './control-transitions.ts';
import { USAGE_REPORT } from './span-events.ts';
import type { AgentEvent, Run, RunStatus, TerminalStatus } from './types.ts';
import { addUsage, hasUsage, withUsageInMetadata } from './usage.ts';
import { isTerminal } from './validate.ts';

/** The event a producer posts to end its run with each final status. */
export const ENDING_TYPE_BY_STATUS = {
  completed: 'run.completed',
  error: 'run.error',
  stopped: 'run.stopped',
} as const satisfies Record<TerminalStatus, string>;

/** The event types that mark a failed run (`error` is the original system's spelling). */
export const FAILURE_TYPES = [ENDING_TYPE_BY_STATUS.error, 'error'] as const;

/** A Map: looked up for every event stored, and a miss must not search Object.prototype. */
const STATUS_BY_TYPE = new Map<string, RunStatus>([
  [ENDING_TYPE_BY_STATUS.completed, 'completed'],
  ...FAILURE_TYPES.map((type) => [type, 'error'] as const),
  [ENDING_TYPE_BY_STATUS.stopped, 'stopped'],
  [CONTROL_CONFIRMATION.pause, 'paused'],
  [CONTROL_CONFIRMATION.resume, 'running'],
]);

/** The event types that end a run: its status becomes terminal. */
export const ENDING_TYPES: ReadonlySet<string> = new Set(
  [...STATUS_BY_TYPE].filter(([, status]) => isTerminal(status)).map(([type]) => type),
);

/** A tool.result that carries an `error` or `success: false` is a failed call. */
export function isFailedToolResult(event: Pick<AgentEvent, 'type' | 'payload'>): boolean {
  if (event.type !== 'tool.result') return false;
  const { error, success } = event.payload;
  return (error !== undefined && error !== null && error !== false) || success === false;
}

export function countsAsError(event: Pick<AgentEvent, 'type' | 'level' | 'payload'>): boolean {
  return (
    event.level === 'error' ||
    (FAILURE_TYPES as readonly string[]).includes(event.type) ||
    isFailedToolResult(event)
  );
}

function errorMessageOf(event: AgentEvent): string | undefined {
  const { message, error } = event.payload;
  const value = message ?? error;
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** approval.requested adds to `control.approvals` (a repeated id keeps the first); decided removes. */
function applyApprovalEvent(run: Run, event: AgentEvent, now: string): void {
  const { payload } = event;
  const approvalId = payload.approvalId;
  if (typeof approvalId !== 'string') return;
  if (event.type === APPROVAL_REQUESTED) {
    // A finished run asks nothing more.
    if (isTerminal(run.status)) return;
    const control = (run.control ??= { producerAttached: false });
    const approvals = (control.approvals ??= []);
    if (approvals.some((entry) => entry.approvalId === approvalId)) return;
    const entry: PendingApproval = {
      approvalId,
      title: typeof payload.title === 'string' ? payload.title : approvalId,
      requestedAt: now,
      seq: event.seq,
    };
    if (typeof payload.timeoutS === 'number' && payload.timeoutS > 0) {
      entry.expiresAt = new Date(Date.parse(now) + payload.timeoutS * 1000).toISOString();
      entry.onTimeout = isApprovalDecision(payload.onTimeout) ? payload.onTimeout : 'deny';
    }
    if (typeof payload.toolName === 'string') entry.toolName = payload.toolName;
    approvals.push(entry);
    return;
  }
  const approvals = run.control?.approvals;
  if (!approvals) return;
  const left = approvals.filter((entry) => entry.approvalId !== approvalId);
  if (left.length > 0) run.control!.approvals = left;
  else delete run.control!.approvals;
}

/**
 * Applies one written event to its run in place. Returns true when the status changed.
 * `now` is the server's clock for updatedAt / endedAt.
 */
export function applyEventToRun(run: Run, event: AgentEvent, now: string): boolean {
  run.eventCount += 1;
  run.lastSeq = event.seq;
  // When the server took the event, by its own clock: a producer's ts never decides liveness.
  run.lastEventAt = now;
  run.updatedAt = now;
  if (event.type === 'tool.called') run.toolCallCount += 1;
  if (countsAsError(event)) run.errorCount += 1;
  if (event.type === APPROVAL_REQUESTED || event.type === APPROVAL_DECIDED)
    applyApprovalEvent(run, event, now);
  if (event.type === APPROVAL_DECIDED || event.type === DIRECTIVE)
    (run.control ??= { producerAttached: false }).lastMessageSeq = event.seq;
  if (event.type === USAGE_REPORT) {
    const usage = { ...run.usage };
    addUsage(usage, event.payload);
    if (hasUsage(usage)) {
      run.usage = usage;
      run.metadata = withUsageInMetadata(run.metadata, usage);
    }
  }

  const next = STATUS_BY_TYPE.get(event.type);
  // A producer's confirmation settles the control request it answers.
  const pending = run.control?.pending;
  if (pending !== undefined && CONTROL_CONFIRMATION[pending] === event.type)
    delete run.control!.pending;
  // A terminal status is not changed by later events; an explicit PATCH may.
  if (next === undefined || isTerminal(run.status) || next === run.status) return false;
  run.status = next;
  if (isTerminal(next)) {
    run.endedAt = now;
    // Nothing is pending on a finished run: its open approvals are closed with it.
    if (run.control) {
      delete run.control.pending;
      delete run.control.approvals;
    }
    if (next === 'error') {
      const message = errorMessageOf(event);
      if (message !== undefined) run.errorMessage = message;
    }
  }
  return true;
}
