// What each control request may act on and how it is answered (docs/protocol.md, Control).
import { CONTROL_ACTIONS } from './constants.ts';
import type { ControlAction, RunStatus } from './types.ts';

export function isControlAction(value: unknown): value is ControlAction {
  return (CONTROL_ACTIONS as readonly unknown[]).includes(value);
}

/** The statuses each control request is allowed from. */
export const CONTROL_ALLOWED_FROM: Record<ControlAction, readonly RunStatus[]> = {
  pause: ['running'],
  resume: ['paused'],
  stop: ['queued', 'running', 'paused'],
};

/** The event with which a producer (or the server) confirms each request. */
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
