// Every subcommand, in the order the help lists them.
import type { Command } from './command.ts';
import { approvalsCommand } from './commands/approvals.ts';
import { askCommand } from './commands/ask.ts';
import { compareCommand } from './commands/compare.ts';
import { pauseCommand, resumeCommand, stopCommand } from './commands/control.ts';
import { approveCommand, denyCommand } from './commands/decide.ts';
import { execCommand } from './commands/exec.ts';
import { emitCommand } from './commands/emit.ts';
import { enqueueCommand } from './commands/enqueue.ts';
import { finishCommand } from './commands/finish.ts';
import { hookCommand } from './commands/hook.ts';
import { lsCommand } from './commands/ls.ts';
import { runCommand } from './commands/run.ts';
import { sayCommand } from './commands/say.ts';
import { serveCommand } from './commands/serve.ts';
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
  compareCommand,
  execCommand,
  pauseCommand,
  resumeCommand,
  stopCommand,
  enqueueCommand,
  workerCommand,
  workersCommand,
  askCommand,
  approveCommand,
  denyCommand,
  approvalsCommand,
  sayCommand,
  hookCommand,
  serveCommand,
];

/** For the Commands list of the top-level help. */
export const COMMAND_SUMMARIES = [
  ...COMMANDS.map(({ name, summary }) => ({ name, summary })),
  { name: 'help', summary: 'Show help for a command: agent-ops help <command>' },
];
