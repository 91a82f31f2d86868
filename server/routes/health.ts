// GET /health: whether the store can write, what the store and streams hold, and how far OTLP
// export lags when it is on.
import { VERSION } from '../../shared/constants.ts';
import type { Health } from '../../shared/types.ts';
import type { AppServices } from '../app-services.ts';
import { sendJson } from '../respond.ts';
import type { Route } from '../router.ts';

export function healthRoutes({ store, hub, notifier, exporter }: AppServices): Route[] {
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
        if (exporter) health.otlp = exporter.stats();
        sendJson(res, degraded ? 503 : 200, health);
      },
    },
  ];
}
