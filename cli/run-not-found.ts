// The error for a run id the server does not know (finish, tail).
import { quote } from '../shared/validate.ts';
import { CliError } from './cli-error.ts';
import { EXIT } from './exit-codes.ts';

export function runNotFound(serverUrl: string, runId: string): CliError {
  return new CliError(
    EXIT.failed,
    `no run ${quote(runId)} on ${serverUrl}; \`agent-ops ls\` lists the runs there`,
  );
}
