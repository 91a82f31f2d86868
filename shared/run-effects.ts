// How a stored event changes its run: the table "What events do to a run" in docs/protocol.md.
import { CONTROL_CONFIRMATION } from './control-transitions.ts';
import { USAGE_REPORT } from './span-events.ts';
import type { AgentEvent, Run, RunStatus, TerminalStatus } from './types.ts';
import { addUsage, hasUsage } from './usage.ts';
import { isTerminal } from './validate.ts';

/** The event a producer posts to end its run with each final status. */
export const ENDING_TYPE_BY_STATUS = {
  completed: 'run.completed',
  error: 'run.error',
  stopped: 'run.stopped',
} as const satisfies Record<TerminalStatus, string>;

/** The event types that mark a failed run (`error` is the original system's spelling). */
export const FAILURE_TYPES = [ENDING_TYPE_BY_STATUS.error, 'error'] as const;

const STATUS_BY_TYPE: Record<string, RunStatus> = {
  [ENDING_TYPE_BY_STATUS.completed]: 'completed',
  ...Object.fromEntries(FAILURE_TYPES.map((type) => [type, 'error' as const])),
  [ENDING_TYPE_BY_STATUS.stopped]: 'stopped',
  [CONTROL_CONFIRMATION.pause]: 'paused',
  [CONTROL_CONFIRMATION.resume]: 'running',
};

/** The event types that end a run: its status becomes terminal. */
export const ENDING_TYPES: ReadonlySet<string> = new Set(
  Object.keys(STATUS_BY_TYPE).filter((type) => isTerminal(STATUS_BY_TYPE[type]!)),
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

/**
 * Applies one written event to its run in place. Returns true when the status changed.
 * `now` is the server's clock for updatedAt / endedAt.
 */
export function applyEventToRun(run: Run, event: AgentEvent, now: string): boolean {
  run.eventCount += 1;
  run.lastSeq = event.seq;
  run.lastEventAt = event.ts;
  run.updatedAt = now;
  if (event.type === 'tool.called') run.toolCallCount += 1;
  if (countsAsError(event)) run.errorCount += 1;
  if (event.type === USAGE_REPORT) {
    const usage = { ...run.usage };
    addUsage(usage, event.payload);
    if (hasUsage(usage)) run.usage = usage;
  }

  const next = STATUS_BY_TYPE[event.type];
  // A producer's confirmation settles the control request it answers.
  const pending = run.control?.pending;
  if (pending !== undefined && CONTROL_CONFIRMATION[pending] === event.type)
    delete run.control!.pending;
  // A terminal status is not changed by later events; an explicit PATCH may.
  if (next === undefined || isTerminal(run.status) || next === run.status) return false;
  run.status = next;
  if (isTerminal(next)) {
    run.endedAt = now;
    if (run.control) delete run.control.pending;
    if (next === 'error') {
      const message = errorMessageOf(event);
      if (message !== undefined) run.errorMessage = message;
    }
  }
  return true;
}
