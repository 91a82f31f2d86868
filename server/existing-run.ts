// The run a route's `:runId` names, which must exist.
import { NotFoundError } from '../shared/errors.ts';
import type { Run } from '../shared/types.ts';
import { quote, validateRunId } from '../shared/validate.ts';
import type { Store } from './store.ts';

export function existingRun(store: Store, rawId: string): Run {
  const id = validateRunId(rawId, 'run id');
  const run = store.getRun(id);
  if (!run) throw new NotFoundError(`run ${quote(id)} not found`);
  return run;
}
