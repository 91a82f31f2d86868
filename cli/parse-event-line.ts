// `exec --format jsonl`: a line that is a JSON object with a string `type` is an event the
// process wants posted as it is. Anything else, including an object the server would refuse, is
// left to be posted as plain output, so a bad line is visible rather than lost.
import { ValidationError } from '../shared/errors.ts';
import type { EventInput } from '../shared/types.ts';
import { checkJsonShape, validateEventInput } from '../shared/validate.ts';

export function parseEventLine(text: string, runId: string): EventInput | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof (value as { type?: unknown }).type !== 'string') return undefined;
  try {
    checkJsonShape(value, 'event');
    return validateEventInput(value, runId);
  } catch (error) {
    if (error instanceof ValidationError) return undefined;
    throw error;
  }
}
