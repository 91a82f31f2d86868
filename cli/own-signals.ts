// The signals that end `agent-ops exec` itself, the exit codes they end it with, and what a stop
// came from.
import { EXIT } from './exit-codes.ts';

/** Signals that end exec itself, and the exit codes they end it with. */
export const OWN_SIGNALS = {
  SIGINT: EXIT.sigint,
  SIGTERM: EXIT.sigterm,
  SIGHUP: EXIT.sighup,
} as const;
export type OwnSignal = keyof typeof OWN_SIGNALS;

/** Why exec stopped the command: a stop request on the control channel, or one of our signals. */
export type StopCause =
  { by: 'control'; reason: string | undefined } | { by: 'signal'; name: OwnSignal };
