// Every subcommand, in the order the help lists them. `serve` lives in the server bundle and is
// dispatched by main.ts before any of these load.
import type { Command } from './command.ts';
import { pauseCommand, resumeCommand, stopCommand } from './commands/control.ts';
import { execCommand } from './commands/exec.ts';
import { emitCommand } from './commands/emit.ts';
import { enqueueCommand } from './commands/enqueue.ts';
import { finishCommand } from './commands/finish.ts';
import { lsCommand } from './commands/ls.ts';
import { runCommand } from './commands/run.ts';
import { startCommand } from './commands/start.ts';
import { tailCommand } from './commands/tail.ts';
import { workerCommand } from './commands/worker.ts';
import { workersCommand } from './commands/workers.ts';

export const COMMANDS: readonly Command[] = [
  runCommand,
  startCommand,
  emitCommand,
  finishCommand,
  lsCommand,
  tailCommand,
  execCommand,
  pauseCommand,
  resumeCommand,
  stopCommand,
  enqueueCommand,
  workerCommand,
  workersCommand,
];

/** For the Commands list of the top-level help. */
export const COMMAND_SUMMARIES = [
  ...COMMANDS.map(({ name, summary }) => ({ name, summary })),
  { name: 'serve', summary: 'Start the ingest server and dashboard (agent-ops serve --help)' },
  { name: 'help', summary: 'Show help for a command: agent-ops help <command>' },
];
