// What each control request may act on and how it is answered (docs/protocol.md, Control).
import type { ControlAction, RunStatus } from './types.ts';

/** The statuses each control request is allowed from. */
export const CONTROL_ALLOWED_FROM: Record<ControlAction, readonly RunStatus[]> = {
  pause: ['running'],
  resume: ['paused'],
  stop: ['queued', 'running', 'paused'],
};

export const CONTROL_ACTIONS = [
  'pause',
  'resume',
  'stop',
] as const satisfies readonly ControlAction[];

export function isControlAction(value: unknown): value is ControlAction {
  return (CONTROL_ACTIONS as readonly unknown[]).includes(value);
}

/** The event a producer (or the server) records when it has carried out each request. */
export const CONTROL_CONFIRMATION = {
  pause: 'run.paused',
  resume: 'run.resumed',
  stop: 'run.stopped',
} as const satisfies Record<ControlAction, string>;

/** The status a confirmed request leaves the run in. */
export const CONTROL_TARGET_STATUS = {
  pause: 'paused',
  resume: 'running',
  stop: 'stopped',
} as const satisfies Record<ControlAction, RunStatus>;
