// Picks the command, parses its options, runs it, and is the one place that turns errors into
// stderr text and exit codes.
import { VERSION } from '../shared/constants.ts';
import { quote } from '../shared/validate.ts';
import { CliError, usageError } from './cli-error.ts';
import type { Command } from './command.ts';
import { COMMANDS, COMMAND_SUMMARIES } from './commands.ts';
import { runCommand } from './commands/run.ts';
import { EXIT } from './exit-codes.ts';
import { formatHelp } from './format-help.ts';
import { GLOBAL_OPTIONS } from './common-options.ts';
import { parseArgs } from './parse-args.ts';
import { splitCommand } from './split-command.ts';

const TOP_LEVEL = {
  summary: 'stream agent runs to an agent-ops server and watch them live',
  usages: [
    '[options]                    run the simulated agent (the original runner)',
    'exec [options] -- <command>  run a command as a run, streaming its output',
    '<command> [options]',
  ],
  commands: COMMAND_SUMMARIES,
  globalOptions: GLOBAL_OPTIONS,
};

function helpFor(command: Command): string {
  return command === runCommand ? formatHelp(command, TOP_LEVEL) : formatHelp(command);
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command)
    throw usageError(
      `unknown command ${quote(name)}; commands: ${COMMAND_SUMMARIES.map((c) => c.name).join(', ')}`,
    );
  return command;
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const { word, leading, rest } = splitCommand(argv, GLOBAL_OPTIONS);
  if (word === 'help') {
    process.stdout.write(helpFor(rest[0] === undefined ? runCommand : findCommand(rest[0])));
    return EXIT.ok;
  }
  // With no command word, the CLI is the original runner: `agent-ops --steps 5`.
  const command = word === undefined ? runCommand : findCommand(word);
  const args = [...leading, ...rest];
  // Help and version win over any other problem on the line, and load nothing else. What follows
  // `--` belongs to someone else (`exec -- tool --help`).
  const end = args.indexOf('--');
  const own = end === -1 ? args : args.slice(0, end);
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(helpFor(command));
    return EXIT.ok;
  }
  if (command === runCommand && (own.includes('--version') || own.includes('-v'))) {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  return command.run(parseArgs(args, command.options, command === runCommand ? '' : command.name));
}

export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`agent-ops: ${error.message}\n`);
      if (error.exitCode === EXIT.usage) {
        const where = error.helpCommand
          ? `agent-ops ${error.helpCommand} --help`
          : 'agent-ops --help';
        process.stderr.write(`Run ${where}\n`);
      }
      return error.exitCode;
    }
    process.stderr.write(
      `agent-ops: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.failed;
  }
}
