// The run a command is about to create, from --title, --id and --metadata, checked before anything
// is sent, so a bad value is a usage error rather than a refusal from the server.
import { MAX_TITLE_LENGTH } from '../shared/constants.ts';
import type { JsonObject } from '../shared/types.ts';
import { checkRunId } from './check-run-id.ts';
import { usageError } from './cli-error.ts';
import type { ParsedArgs } from './parse-args.ts';
import { parseJsonOption } from './parse-json-option.ts';

export interface RunIdentity {
  /** Undefined when --id was not given: each run then gets a fresh one. */
  id: string | undefined;
  title: string;
  metadata: JsonObject | undefined;
}

export function runIdentity(
  options: ParsedArgs['options'],
  command: string,
  title: string,
): RunIdentity {
  if (title.length > MAX_TITLE_LENGTH) {
    throw usageError(
      `--title must be at most ${MAX_TITLE_LENGTH} characters; got ${title.length}`,
      command,
    );
  }
  return {
    id: options.id === undefined ? undefined : checkRunId(String(options.id), command, '--id'),
    title,
    metadata:
      options.metadata === undefined
        ? undefined
        : parseJsonOption(String(options.metadata), '--metadata', command),
  };
}
