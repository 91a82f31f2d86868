// Run control: pause / resume / stop requests, and the channel a producer holds open.
import { CONTROL_ACTIONS } from '../../shared/control-transitions.ts';
import { invalid } from '../../shared/errors.ts';
import { isObject, quote } from '../../shared/validate.ts';
import type { AppServices } from '../app-services.ts';
import { existingRun } from '../existing-run.ts';
import { openSse, resumeCursor } from '../open-sse.ts';
import { readJsonBody } from '../read-body.ts';
import { sendJson } from '../respond.ts';
import type { Route } from '../router.ts';

/** A control request's body: nothing, or `{"reason": string}`. */
function reasonOf(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (!isObject(body) || Object.keys(body).some((key) => key !== 'reason'))
    throw invalid(`control request body must be {"reason"?: string}; got ${quote(body)}`);
  if (body.reason !== undefined && typeof body.reason !== 'string')
    throw invalid(`reason must be a string; got ${quote(body.reason)}`);
  return body.reason;
}

export function controlRoutes({ store, control, queue }: AppServices): Route[] {
  return [
    ...CONTROL_ACTIONS.map((action): Route => ({
      method: 'POST',
      path: `/api/runs/:runId/${action}`,
      async handler({ req, res, params }) {
        const run = existingRun(store, params.runId!);
        const reason = reasonOf(await readJsonBody(req));
        // A queued run being stopped leaves the queue now, before any worker can claim it.
        if (action === 'stop') queue.withdraw(run.id);
        try {
          sendJson(res, 202, await control.request(run, action, reason));
        } finally {
          queue.restore(run.id);
        }
      },
    })),
    {
      method: 'GET',
      path: '/api/runs/:runId/control',
      handler({ req, res, query, params }) {
        const run = existingRun(store, params.runId!);
        const seen = resumeCursor(req, query);
        if (openSse(res)) control.attach(run.id, res, seen);
      },
    },
  ];
}
