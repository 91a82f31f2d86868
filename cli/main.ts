// Entry point: parses the command line and dispatches (run-cli.ts). The server is loaded only by
// `serve` (cli/commands/serve.ts).
import { EXIT } from './exit-codes.ts';
import { runCli } from './run-cli.ts';

// A reader that has gone away (`agent-ops tail "$RUN" | head`) ends the command quietly, as it
// ends `cat`. A command that passes a child's output through (exec) listens itself and goes on.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (process.stdout.listenerCount('error') > 1) return;
  if (error.code !== 'EPIPE') throw error;
  process.exit(EXIT.ok);
});

process.exitCode = await runCli(process.argv.slice(2));
