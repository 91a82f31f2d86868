// SIGINT / SIGTERM / SIGHUP as an AbortSignal: the first one asks the command to wind down (the
// runner posts run.stopped, a worker stops its runs); a second one ends the process at once. SIGHUP
// is here because a closed terminal must not leave a run looking alive or a worker's command
// behind, as its default action (dying on the spot) would.
import { OWN_SIGNALS, type OwnSignal } from './own-signals.ts';

export const SIGNAL_EXIT_CODES = OWN_SIGNALS;
export type StopSignal = OwnSignal;

export interface InterruptSignal {
  signal: AbortSignal;
  dispose(): void;
}

export function listenForInterrupt(onFirst?: (name: StopSignal) => void): InterruptSignal {
  const controller = new AbortController();
  const handler = (name: StopSignal): void => {
    if (controller.signal.aborted) process.exit(SIGNAL_EXIT_CODES[name]);
    controller.abort(name);
    onFirst?.(name);
  };
  const names = Object.keys(OWN_SIGNALS) as OwnSignal[];
  for (const name of names) process.on(name, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of names) process.off(name, handler);
    },
  };
}
