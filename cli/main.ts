// Entry point: parses the command line and dispatches (run-cli.ts). The server is loaded only by
// `serve` (cli/commands/serve.ts).
import { runCli } from './run-cli.ts';

process.exitCode = await runCli(process.argv.slice(2));
