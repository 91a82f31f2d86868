// The HTTP application: wires the store, the live streams and the route modules of
// docs/protocol.md. It does not listen; the entry point does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OTLP_TRACES_PATH } from '../shared/otlp.ts';
import type { OtlpExportConfig } from '../shared/types.ts';
import type { AppServices } from './app-services.ts';
import { Approvals } from './approvals.ts';
import { createAuthorizer } from './authorize.ts';
import { ControlChannels } from './control-channels.ts';
import { ControlMessages } from './control-messages.ts';
import { HttpError } from './http-error.ts';
import { Notifier, type NotifierOptions } from './notifier.ts';
import { ProducerLeases } from './producer-leases.ts';
import { createRequestGuard, type GuardOptions } from './request-guard.ts';
import { sendEmpty, sendError } from './respond.ts';
import { Router, parseTarget } from './router.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { controlRoutes } from './routes/control.ts';
import { directiveRoutes } from './routes/directives.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { otlpRoutes } from './routes/otlp.ts';
import { OtlpExporter } from './otlp-exporter.ts';
import { runRoutes } from './routes/runs.ts';
import { spanRoutes } from './routes/spans.ts';
import { streamRoutes } from './routes/streams.ts';
import { workerRoutes } from './routes/workers.ts';
import { SpanIndex } from './span-index.ts';
import { serveStatic } from './static-files.ts';
import type { Store } from './store.ts';
import { StreamHub } from './stream-hub.ts';
import { WorkQueue } from './work-queue.ts';

export interface AppOptions {
  store: Store;
  apiKey?: string;
  /** Which Host names and browser origins are answered (server/request-guard.ts). */
  guard: GuardOptions;
  dashboardDir: string;
  /** One line per request on the log. */
  logRequests: boolean;
  log(line: string): void;
  /** `serve --notify`: where to POST, and the shortest completed run worth a message. */
  notify?: Omit<NotifierOptions, 'baseUrl'>;
  /** The server's own address once it listens, for links in notifications. */
  baseUrl?(): string | undefined;
  /** A producer (or worker) gone this long is lost (serve --lost-after). */
  lostAfterMs: number;
  /** Export runs and spans over OTLP/HTTP. */
  otlp?: OtlpExportConfig;
}

export interface App {
  handle(req: IncomingMessage, res: ServerResponse): void;
  hub: StreamHub;
  close(): void;
}

/** The paths that hold data: they need the key. The dashboard's static files do not. */
function isApiPath(pathname: string): boolean {
  return (
    pathname === '/health' ||
    pathname === '/api' ||
    pathname.startsWith('/api/') ||
    pathname === OTLP_TRACES_PATH
  );
}

/**
 * The services the routes work over, and who listens to the store: each listener is told of every
 * written event and run change, in the order they are wired here.
 */
function wireServices(options: AppOptions): { services: AppServices; close(): void } {
  const { store, log } = options;
  const hub = new StreamHub(store);
  const control = new ControlChannels(store, hub);
  const leases = new ProducerLeases(store, options.lostAfterMs, log);
  const queue = new WorkQueue(store, hub, { lostAfterMs: options.lostAfterMs, log });
  const spans = new SpanIndex(store);
  const approvals = new Approvals(store);
  const notifier =
    options.notify && options.notify.urls.length > 0
      ? new Notifier(store, { ...options.notify, baseUrl: options.baseUrl ?? (() => undefined) })
      : undefined;
  const exporter = options.otlp && new OtlpExporter(store, { ...options.otlp, log });
  const listeners = [hub, spans, leases, queue, approvals, new ControlMessages(store, control)];
  for (const listener of [...listeners, notifier, exporter]) if (listener) store.listen(listener);
  leases.start();
  queue.start();
  return {
    services: { store, hub, control, spans, queue, approvals, notifier, exporter },
    close() {
      leases.close();
      queue.close();
      hub.closeAll();
      approvals.close();
      notifier?.close();
      exporter?.close();
    },
  };
}

export function createApp(options: AppOptions): App {
  const { log } = options;
  const { services, close } = wireServices(options);
  const router = new Router()
    .add(healthRoutes(services))
    .add(runRoutes(services))
    .add(eventRoutes(services))
    .add(streamRoutes(services))
    .add(controlRoutes(services))
    .add(spanRoutes(services))
    .add(workerRoutes(services))
    .add(approvalRoutes(services))
    .add(directiveRoutes(services))
    .add(otlpRoutes(services));
  const authorized = createAuthorizer(options.apiKey);
  const guard = createRequestGuard(options.guard);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    guard(req, res);
    const { pathname, query } = parseTarget(req.url ?? '/');
    if (method === 'OPTIONS') return sendEmpty(res, 204);
    if (!isApiPath(pathname)) {
      if (method !== 'GET' && method !== 'HEAD')
        throw new HttpError(405, `method ${method} not allowed on ${pathname}`, {
          allow: 'GET, HEAD',
        });
      return serveStatic(options.dashboardDir, pathname, res, method === 'HEAD');
    }
    if (!authorized(req))
      throw new HttpError(401, 'unauthorized', { 'www-authenticate': 'Bearer' });
    const { handler, params } = router.find(method, pathname);
    return handler({ req, res, pathname, query, params });
  }

  return {
    hub: services.hub,
    handle(req, res) {
      if (options.logRequests) {
        const started = process.hrtime.bigint();
        res.on('finish', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          log(`${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms`);
        });
      }
      route(req, res).catch((error: unknown) => sendError(req, res, error, log));
    },
    close,
  };
}
