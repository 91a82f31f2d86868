// Finds the command word on a command line that may put global options first, as git and kubectl
// allow: `agent-ops --server URL ls` is `agent-ops ls --server URL`.
import type { OptionSpec } from './parse-args.ts';

export interface CommandLineParts {
  /** The command word, or undefined for the runner (`agent-ops --steps 5`). */
  word: string | undefined;
  /** Global options that came before the word. */
  leading: string[];
  /** Everything after the word. */
  rest: string[];
}

/**
 * Skips leading `globals` (with their values) and takes the next word as the command. Any other
 * option first means there is no command word: the line is the runner's.
 */
export function splitCommand(
  argv: readonly string[],
  globals: readonly OptionSpec[],
): CommandLineParts {
  const byFlag = new Map(globals.flatMap((spec) => spec.flags.map((flag) => [flag, spec])));
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const arg = argv[i]!;
    const equals = arg.indexOf('=');
    const spec = byFlag.get(equals === -1 ? arg : arg.slice(0, equals));
    if (!spec) return { word: undefined, leading: [], rest: [...argv] };
    i += spec.type === 'boolean' || equals !== -1 ? 1 : 2;
  }
  if (i >= argv.length) return { word: undefined, leading: [], rest: [...argv] };
  return { word: argv[i], leading: argv.slice(0, i), rest: argv.slice(i + 1) };
}
