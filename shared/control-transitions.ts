import type { ControlAction, RunStatus } from './types.ts';

/** The statuses each control request is allowed from (docs/protocol.md, Control). */
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

/** The event a producer (or the server) records when it has carried out each request. */
export const CONTROL_CONFIRMATION = {
  pause: 'run.paused',
  resume: 'run.resumed',
  stop: 'run.stopped',
} as const satisfies Record<ControlAction, string>;
