// GET /health: whether the store can write, and what the store and streams hold.
import { VERSION } from '../../shared/constants.ts';
import type { Health } from '../../shared/types.ts';
import type { AppServices } from '../app-services.ts';
import { sendJson } from '../respond.ts';
import type { Route } from '../router.ts';

export function healthRoutes({ store, hub, notifier }: AppServices): Route[] {
  return [
    {
      method: 'GET',
      path: '/health',
      handler({ res }) {
        const degraded = store.degraded;
        const health: Health = {
          status: degraded ? 'degraded' : 'ok',
          time: new Date().toISOString(),
          version: VERSION,
          store: store.stats(),
          streams: hub.stats(),
        };
        if (degraded) health.reason = degraded;
        if (notifier) health.notify = notifier.stats();
        sendJson(res, degraded ? 503 : 200, health);
      },
    },
  ];
}
