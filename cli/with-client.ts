// How every network command opens and closes: its connection options, its positional arguments
// (a run id checked before anything is sent, nothing unexpected after them), where its output
// goes, a client, and that client closed however the command ends.
import { quote } from '../shared/validate.ts';
import { checkRunId } from './check-run-id.ts';
import { usageError } from './cli-error.ts';
import { connectionFrom } from './common-options.ts';
import { createClient } from './create-client.ts';
import type { HttpClient } from './http-client.ts';
import { createOutput, type Output } from './output.ts';
import type { ParsedArgs } from './parse-args.ts';

export interface CommandSetup {
  /** The command's name, for the `agent-ops <name> --help` pointer of usage errors. */
  command: string;
  /** How many positional arguments the command takes at most; undefined: any number (exec). */
  maxPositionals?: number;
  /** The first positional is a run id: required and well-formed. */
  runId?: boolean;
  /** Human lines always on stderr, stdout being someone else's (exec). */
  humanOnStderr?: boolean;
}

export interface CommandContext {
  options: ParsedArgs['options'];
  positionals: string[];
  /** The checked run id, when the setup asks for one ('' otherwise). */
  runId: string;
  output: Output;
  client: HttpClient;
}

export async function withClient(
  args: ParsedArgs,
  setup: CommandSetup,
  body: (context: CommandContext) => Promise<number>,
): Promise<number> {
  const { command } = setup;
  const connection = connectionFrom(args, command);
  const { options, positionals } = args;
  const runId = setup.runId ? checkRunId(positionals[0], command) : '';
  const max = setup.maxPositionals;
  if (max !== undefined && positionals.length > max)
    throw usageError(`unexpected argument ${quote(positionals[max])}`, command);
  const output = createOutput({
    json: setup.humanOnStderr === true || options.json === true,
    noColor: options.noColor === true,
  });
  const client = createClient(connection, output);
  try {
    return await body({ options, positionals, runId, output, client });
  } finally {
    client.close();
  }
}
