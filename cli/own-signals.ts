// The signals that end a command of ours (exec, the runner, a worker, tail, ask, enqueue --wait),
// the exit codes they end it with, and what a stop came from.
import { EXIT } from './exit-codes.ts';

/** Signals that end a command of ours, and the exit codes they end it with. */
export const OWN_SIGNALS = {
  SIGINT: EXIT.sigint,
  SIGTERM: EXIT.sigterm,
  SIGHUP: EXIT.sighup,
} as const;
export type OwnSignal = keyof typeof OWN_SIGNALS;

/** Why exec stopped the command: a stop request on the control channel, or one of our signals. */
export type StopCause =
  { by: 'control'; reason: string | undefined } | { by: 'signal'; name: OwnSignal };
