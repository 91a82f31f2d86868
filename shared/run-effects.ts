// How a stored event changes its run: the table "What events do to a run" in docs/protocol.md.
import { USAGE_REPORT } from './span-events.ts';
import type { AgentEvent, ControlAction, Run, RunStatus } from './types.ts';
import { addUsage, hasUsage } from './usage.ts';
import { isTerminal } from './validate.ts';

const STATUS_BY_TYPE: Record<string, RunStatus> = {
  'run.completed': 'completed',
  'run.error': 'error',
  error: 'error',
  'run.stopped': 'stopped',
  'run.paused': 'paused',
  'run.resumed': 'running',
};

const CONFIRMS: Record<ControlAction, string> = {
  pause: 'run.paused',
  resume: 'run.resumed',
  stop: 'run.stopped',
};

/** A tool.result that carries an `error` or `success: false` is a failed call. */
export function isFailedToolResult(event: Pick<AgentEvent, 'type' | 'payload'>): boolean {
  if (event.type !== 'tool.result') return false;
  const { error, success } = event.payload;
  return (error !== undefined && error !== null && error !== false) || success === false;
}

export function countsAsError(event: Pick<AgentEvent, 'type' | 'level' | 'payload'>): boolean {
  return (
    event.level === 'error' ||
    event.type === 'run.error' ||
    event.type === 'error' ||
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
  if (pending !== undefined && CONFIRMS[pending] === event.type) delete run.control!.pending;
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
