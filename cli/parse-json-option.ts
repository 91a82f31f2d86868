// A JSON-object flag value (--payload, --metadata), refused with the flag and the text quoted.
import type { JsonObject } from '../shared/types.ts';
import { isObject, quote } from '../shared/validate.ts';
import { usageError } from './cli-error.ts';

export function parseJsonOption(raw: string, flag: string, command: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw usageError(
      `${flag} must be a JSON object like '{"step":1}'; got ${quote(raw)}, which is not JSON`,
      command,
    );
  }
  if (!isObject(value))
    throw usageError(`${flag} must be a JSON object like '{"step":1}'; got ${quote(raw)}`, command);
  return value;
}
