// Directives: a message for the running agent, recorded as an event and pushed on the control
// channel (control-messages.ts); the producer confirms with directive.delivered.
import { randomUUID } from 'node:crypto';
import { DIRECTIVE, validateDirective } from '../../shared/approvals.ts';
import { ConflictError } from '../../shared/errors.ts';
import { isTerminal, quote } from '../../shared/validate.ts';
import type { AppServices } from '../app-services.ts';
import { existingRun } from '../existing-run.ts';
import { readJsonBody } from '../read-body.ts';
import { sendJson } from '../respond.ts';
import type { Route } from '../router.ts';
import { DEFAULT_DECIDER } from '../approvals.ts';

export function directiveRoutes({ store }: AppServices): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/runs/:runId/directives',
      async handler({ req, res, params }) {
        const { id } = existingRun(store, params.runId!);
        const { text, by } = validateDirective(await readJsonBody(req));
        // Read again: the run may have changed while the body arrived.
        const run = existingRun(store, id);
        if (isTerminal(run.status))
          throw new ConflictError(
            `cannot send a directive to run ${quote(run.id)}: its status is ${run.status}`,
          );
        const payload = { directiveId: randomUUID(), text, by: by ?? DEFAULT_DECIDER };
        const [result] = await store.appendEvents(run.id, [{ type: DIRECTIVE, payload }]);
        if ('refused' in result!) throw result.refused;
        sendJson(res, 202, result!.event);
      },
    },
  ];
}
