// The CLI's exit codes, exactly as docs/protocol.md lists them.
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  stopped: 4,
  sigint: 130,
  sigterm: 143,
  /** A closed terminal ends a run like the other two (docs/protocol.md, a choice). */
  sighup: 129,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** How a run's final status reads as an exit code (runner, finish and tail agree). */
export function exitCodeForStatus(status: string): ExitCode {
  if (status === 'completed') return EXIT.ok;
  if (status === 'stopped') return EXIT.stopped;
  return EXIT.failed;
}
