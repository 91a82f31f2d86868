// Live streams: one run's events, and the run-list changes.
import type { AppServices } from '../app-services.ts';
import { existingRun } from '../existing-run.ts';
import { openSse, resumeCursor } from '../open-sse.ts';
import type { Route } from '../router.ts';

export function streamRoutes({ store, hub }: AppServices): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/runs/:runId/stream',
      handler({ req, res, query, params }) {
        const run = existingRun(store, params.runId!);
        const cursor = resumeCursor(req, query);
        if (openSse(res)) hub.subscribeRun(run.id, res, cursor);
      },
    },
    {
      method: 'GET',
      path: '/api/stream',
      handler({ res }) {
        if (openSse(res)) hub.subscribeList(res);
      },
    },
  ];
}
