// The one error class of the CLI: a message for stderr and the exit code it ends with.
// main.ts is the only place that turns it into output and an exit status.
import { EXIT, type ExitCode } from './exit-codes.ts';

export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** For usage errors: the command whose --help the message points to. */
  readonly helpCommand: string | undefined;

  constructor(exitCode: ExitCode, message: string, helpCommand?: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.helpCommand = helpCommand;
  }
}

export function usageError(message: string, command?: string): CliError {
  return new CliError(EXIT.usage, message, command ?? '');
}
