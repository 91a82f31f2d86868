import type { ControlAction, RunStatus } from './types.ts';

/** The statuses each control request is allowed from (docs/protocol.md, Control). */
export const CONTROL_ALLOWED_FROM: Record<ControlAction, readonly RunStatus[]> = {
  pause: ['running'],
  resume: ['paused'],
  stop: ['queued', 'running', 'paused'],
};
