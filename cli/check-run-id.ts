// A run id from the command line (the <runId> argument, or --id): present and well-formed before
// anything is sent.
import { RUN_ID_PATTERN } from '../shared/constants.ts';
import { quote } from '../shared/validate.ts';
import { usageError } from './cli-error.ts';

export function checkRunId(value: string | undefined, command: string, name = '<runId>'): string {
  if (value === undefined) throw usageError(`missing ${name}`, command);
  if (!RUN_ID_PATTERN.test(value)) {
    throw usageError(
      `${name} must be letters, digits, . _ : - (at most 128, starting with a letter or digit); got ${quote(value)}`,
      command,
    );
  }
  return value;
}
