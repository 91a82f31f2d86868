// Workers: announce (POST), list, read, and the claims stream a worker holds open.
import { validateWorkerAnnouncement } from '../../shared/validate-worker.ts';
import { invalid } from '../../shared/errors.ts';
import type { AppServices } from '../app-services.ts';
import { openSse } from '../open-sse.ts';
import { readJsonBody } from '../read-body.ts';
import { sendJson } from '../respond.ts';
import type { Route } from '../router.ts';

export function workerRoutes({ queue }: AppServices): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/workers',
      async handler({ req, res }) {
        const body = await readJsonBody(req);
        if (body === undefined) throw invalid('worker must be a JSON object; got an empty body');
        const { worker, created } = queue.announce(validateWorkerAnnouncement(body));
        sendJson(res, created ? 201 : 200, worker);
      },
    },
    {
      method: 'GET',
      path: '/api/workers',
      handler({ res }) {
        sendJson(res, 200, queue.list());
      },
    },
    {
      method: 'GET',
      path: '/api/workers/:workerId',
      handler({ res, params }) {
        sendJson(res, 200, queue.get(params.workerId!));
      },
    },
    {
      method: 'GET',
      path: '/api/workers/:workerId/claims',
      handler({ res, params }) {
        queue.get(params.workerId!); // 404 before the stream opens
        if (openSse(res)) queue.connect(params.workerId!, res);
      },
    },
  ];
}
