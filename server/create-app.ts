// The HTTP application: routes of docs/protocol.md over a Store and a StreamHub. It does not
// listen; the entry point does.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  EVENTS_DEFAULT_LIMIT,
  EVENTS_MAX_LIMIT,
  MAX_BATCH_EVENTS,
  RUNS_DEFAULT_LIMIT,
  RUNS_MAX_LIMIT,
  VERSION,
} from '../shared/constants.ts';
import { HttpError, badRequest } from '../shared/http-error.ts';
import { SSE_HEADERS, SSE_PREAMBLE } from '../shared/sse.ts';
import type { AgentEvent, ControlAction, Health, Run } from '../shared/types.ts';
import {
  isObject,
  parseIntParam,
  quote,
  validateEventInput,
  validateLevel,
  validateRunId,
  validateRunInput,
  validateRunPatch,
  validateStatus,
} from '../shared/validate.ts';
import { ControlChannels } from './control-channels.ts';
import { readJsonBody } from './read-body.ts';
import { allowCrossOrigin, sendEmpty, sendError, sendJson, sendJsonBytes } from './respond.ts';
import { serveStatic } from './static-files.ts';
import type { Store } from './store.ts';
import { StreamHub } from './stream-hub.ts';

export interface AppOptions {
  store: Store;
  apiKey?: string;
  dashboardDir: string;
  /** One line per request on the log. */
  logRequests: boolean;
  log(line: string): void;
}

export interface App {
  handle(req: IncomingMessage, res: ServerResponse): void;
  hub: StreamHub;
  close(): void;
}

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget,
  params: string[],
) => Promise<void> | void;
type Route = { pattern: RegExp; methods: Record<string, Handler> };

/** The parts of a request target the routes use; cheaper than a full URL parse per request. */
interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

function parseTarget(target: string): RequestTarget {
  if (!target.startsWith('/')) {
    try {
      const url = new URL(target);
      return { pathname: url.pathname, searchParams: url.searchParams };
    } catch {
      throw badRequest(`request target is not a valid URL: ${quote(target)}`);
    }
  }
  const query = target.indexOf('?');
  if (query === -1) return { pathname: target, searchParams: new URLSearchParams() };
  return {
    pathname: target.slice(0, query),
    searchParams: new URLSearchParams(target.slice(query + 1)),
  };
}

// Pieces of the batch answer `{"results":[{"status":201,"event":…},…]}`.
const RESULTS_OPEN = Buffer.from('{"results":[');
const RESULTS_CLOSE = Buffer.from(']}');
const CREATED_ITEM = Buffer.from('{"status":201,"event":');
const DUPLICATE_ITEM = Buffer.from('{"status":200,"event":');
const CLOSE = Buffer.from('}');
const COMMA = Buffer.from(',');

function recordOf(result: { event: AgentEvent; record?: Buffer }): Buffer {
  return result.record ?? Buffer.from(JSON.stringify(result.event));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  return undefined;
}

function runMatches(run: Run, status: string | null, q: string | undefined): boolean {
  if (status !== null && run.status !== status) return false;
  if (q === undefined) return true;
  if (run.title.toLowerCase().includes(q) || run.id.toLowerCase().includes(q)) return true;
  return Object.values(run.metadata).some((value) =>
    (typeof value === 'string' ? value : (JSON.stringify(value) ?? '')).toLowerCase().includes(q),
  );
}

/** Where a stream resumes: the Last-Event-ID header wins over `?after=`; neither means 0. */
function resumeCursor(req: IncomingMessage, url: RequestTarget): number {
  const header = req.headers['last-event-id'];
  const max = Number.MAX_SAFE_INTEGER;
  if (typeof header === 'string' && header !== '') {
    return parseIntParam(header, 'Last-Event-ID', 0, 0, max);
  }
  return parseIntParam(url.searchParams.get('after'), 'after', 0, 0, max);
}

function list(value: string | null): string[] | undefined {
  if (value === null || value === '') return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function createApp(options: AppOptions): App {
  const { store, log } = options;
  const hub = new StreamHub(store);
  const control = new ControlChannels(store, hub);
  const keyDigest = options.apiKey ? digest(options.apiKey) : undefined;

  const runParam = (params: string[]) => {
    let id: string;
    try {
      id = decodeURIComponent(params[0]!);
    } catch {
      throw badRequest(`run id is not valid percent-encoding; got ${quote(params[0])}`);
    }
    return validateRunId(id, 'run id');
  };
  const existingRun = (params: string[]) => {
    const id = runParam(params);
    const run = store.getRun(id);
    if (!run) throw new HttpError(404, `run ${quote(id)} not found`);
    return run;
  };

  const openSse = (res: ServerResponse) => {
    res.writeHead(200, SSE_HEADERS);
    if (res.req.method === 'HEAD') return false;
    res.write(SSE_PREAMBLE);
    res.socket?.setNoDelay(true);
    return true;
  };

  const routes: Route[] = [
    {
      pattern: /^\/health$/,
      methods: {
        GET(_req, res) {
          const degraded = store.degraded;
          const health: Health = {
            status: degraded ? 'degraded' : 'ok',
            time: new Date().toISOString(),
            version: VERSION,
            store: store.stats(),
            streams: hub.stats(),
          };
          if (degraded) health.reason = degraded;
          sendJson(res, degraded ? 503 : 200, health);
        },
      },
    },
    {
      pattern: /^\/api\/runs$/,
      methods: {
        async POST(req, res) {
          const input = validateRunInput(await readJsonBody(req));
          const { run, created } = store.createRun(input);
          await store.durable();
          sendJson(res, created ? 201 : 200, run);
        },
        GET(_req, res, url) {
          const status = url.searchParams.get('status');
          if (status !== null) validateStatus(status);
          const q = url.searchParams.get('q')?.toLowerCase() || undefined;
          const limit = parseIntParam(
            url.searchParams.get('limit'),
            'limit',
            RUNS_DEFAULT_LIMIT,
            1,
            RUNS_MAX_LIMIT,
          );
          const before = url.searchParams.get('before');
          if (before !== null && !store.getRun(before))
            throw badRequest(`before names no run; got ${quote(before)}`);
          const page: Run[] = [];
          let skipping = before !== null;
          let more = false;
          for (const run of store.runsNewestFirst()) {
            if (skipping) {
              skipping = run.id !== before;
              continue;
            }
            if (!runMatches(run, status, q)) continue;
            if (page.length === limit) {
              more = true;
              break;
            }
            page.push(run);
          }
          const headers: Record<string, string> = {};
          if (more) {
            const next = new URLSearchParams(url.searchParams);
            next.set('limit', String(limit));
            next.set('before', page[page.length - 1]!.id);
            headers.link = `</api/runs?${next}>; rel="next"`;
          }
          sendJson(res, 200, page, headers);
        },
      },
    },
    {
      pattern: /^\/api\/runs\/([^/]+)$/,
      methods: {
        GET(_req, res, _url, params) {
          sendJson(res, 200, existingRun(params));
        },
        async PATCH(req, res, _url, params) {
          const run = existingRun(params);
          const body = await readJsonBody(req);
          if (body === undefined)
            throw badRequest('patch must be a JSON object; got an empty body');
          const updated = store.patchRun(run.id, validateRunPatch(body));
          await store.durable();
          sendJson(res, 200, updated);
        },
        async DELETE(_req, res, _url, params) {
          store.deleteRun(existingRun(params).id);
          await store.durable();
          sendEmpty(res, 204);
        },
      },
    },
    {
      pattern: /^\/api\/runs\/([^/]+)\/events$/,
      methods: {
        async POST(req, res, _url, params) {
          const runId = runParam(params);
          const body = await readJsonBody(req);
          if (body === undefined)
            throw badRequest('event must be a JSON object or an array of them; got an empty body');
          if (!Array.isArray(body)) {
            const [result] = await store.appendEvents(runId, [validateEventInput(body, runId)]);
            if ('error' in result!) throw new HttpError(result.status, result.error);
            sendJsonBytes(res, result!.status, recordOf(result!));
            return;
          }
          if (body.length === 0) throw badRequest('event array must hold at least one event');
          if (body.length > MAX_BATCH_EVENTS) {
            throw new HttpError(
              413,
              `event array must hold at most ${MAX_BATCH_EVENTS} events; got ${body.length}`,
            );
          }
          const inputs = body.map((item, i) => {
            try {
              return validateEventInput(item, runId, `events[${i}]`);
            } catch (error) {
              return error as HttpError;
            }
          });
          const results = await store.appendEvents(runId, inputs);
          const allStored = results.every((result) => result.status < 300);
          // Built from the stored records' bytes rather than serializing every event again.
          const parts: Buffer[] = [RESULTS_OPEN];
          results.forEach((result, i) => {
            if (i > 0) parts.push(COMMA);
            if (!('event' in result)) parts.push(Buffer.from(JSON.stringify(result)));
            else
              parts.push(
                result.status === 201 ? CREATED_ITEM : DUPLICATE_ITEM,
                recordOf(result),
                CLOSE,
              );
          });
          parts.push(RESULTS_CLOSE);
          sendJsonBytes(res, allStored ? 201 : 207, Buffer.concat(parts));
        },
        GET(_req, res, url, params) {
          const run = existingRun(params);
          const search = url.searchParams;
          if (search.get('format') === 'ndjson') return exportNdjson(res, run.id);
          if (search.has('format') && search.get('format') !== 'json') {
            throw badRequest(`format must be json or ndjson; got ${quote(search.get('format'))}`);
          }
          const after = search.has('after')
            ? parseIntParam(search.get('after'), 'after', 0, 0, Number.MAX_SAFE_INTEGER)
            : undefined;
          const before = search.has('before')
            ? parseIntParam(search.get('before'), 'before', 0, 1, Number.MAX_SAFE_INTEGER)
            : undefined;
          if (after !== undefined && before !== undefined)
            throw badRequest('after and before cannot be used together');
          const levels = list(search.get('level'));
          levels?.forEach((level) => validateLevel(level));
          const events = store.readEvents(run.id, {
            after,
            before,
            limit: parseIntParam(
              search.get('limit'),
              'limit',
              EVENTS_DEFAULT_LIMIT,
              1,
              EVENTS_MAX_LIMIT,
            ),
            types: list(search.get('type')),
            levels,
            q: search.get('q') || undefined,
          });
          sendJson(res, 200, events);
        },
      },
    },
    {
      pattern: /^\/api\/runs\/([^/]+)\/stream$/,
      methods: {
        GET(req, res, url, params) {
          const run = existingRun(params);
          const cursor = resumeCursor(req, url);
          if (openSse(res)) hub.subscribeRun(run.id, res, cursor);
          else res.end();
        },
      },
    },
    {
      pattern: /^\/api\/runs\/([^/]+)\/(pause|resume|stop)$/,
      methods: {
        async POST(req, res, _url, params) {
          const run = existingRun(params);
          const body = await readJsonBody(req);
          if (
            body !== undefined &&
            (!isObject(body) || Object.keys(body).some((key) => key !== 'reason'))
          ) {
            throw badRequest(
              `control request body must be {"reason"?: string}; got ${quote(body)}`,
            );
          }
          const reason = isObject(body) ? body.reason : undefined;
          if (reason !== undefined && typeof reason !== 'string')
            throw badRequest(`reason must be a string; got ${quote(reason)}`);
          const updated = await control.request(run, params[1] as ControlAction, reason);
          sendJson(res, 202, updated);
        },
      },
    },
    {
      pattern: /^\/api\/runs\/([^/]+)\/control$/,
      methods: {
        GET(req, res, url, params) {
          const run = existingRun(params);
          const seen = resumeCursor(req, url);
          if (openSse(res)) control.attach(run.id, res, seen);
          else res.end();
        },
      },
    },
    {
      pattern: /^\/api\/stream$/,
      methods: {
        GET(_req, res) {
          if (openSse(res)) hub.subscribeList(res);
          else res.end();
        },
      },
    },
  ];

  function exportNdjson(res: ServerResponse, runId: string): void {
    const parts = store.exportParts(runId);
    res.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="${runId}.ndjson"`,
    });
    const next = (i: number): void => {
      if (i === parts.length) {
        res.end();
        return;
      }
      const part = parts[i]!;
      // Only the bytes that were whole records when the export began.
      const stream = createReadStream(part.path, { start: 0, end: part.bytes - 1 });
      stream.on('error', () => res.destroy());
      stream.on('end', () => next(i + 1));
      stream.pipe(res, { end: false });
    };
    next(0);
  }

  function authorized(req: IncomingMessage): boolean {
    if (!keyDigest) return true;
    const key = presentedKey(req);
    return key !== undefined && timingSafeEqual(digest(key), keyDigest);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = parseTarget(req.url ?? '/');
    const { pathname } = url;
    if (method === 'OPTIONS') return sendEmpty(res, 204);
    const isApi = pathname === '/health' || pathname === '/api' || pathname.startsWith('/api/');
    if (!isApi) {
      if (method !== 'GET' && method !== 'HEAD')
        throw new HttpError(405, `method ${method} not allowed on ${pathname}`, {
          allow: 'GET, HEAD',
        });
      return serveStatic(options.dashboardDir, pathname, res, method === 'HEAD');
    }
    if (!authorized(req))
      throw new HttpError(401, 'unauthorized', { 'www-authenticate': 'Bearer' });
    for (const { pattern, methods } of routes) {
      const match = pattern.exec(pathname);
      if (!match) continue;
      const handler = methods[method] ?? (method === 'HEAD' ? methods.GET : undefined);
      if (!handler) {
        const allow = [...Object.keys(methods), ...(methods.GET ? ['HEAD'] : [])].join(', ');
        throw new HttpError(405, `method ${method} not allowed on ${pathname}; allowed: ${allow}`, {
          allow,
        });
      }
      return handler(req, res, url, match.slice(1));
    }
    throw new HttpError(404, `no route for ${method} ${pathname}`);
  }

  return {
    hub,
    handle(req, res) {
      allowCrossOrigin(req, res);
      if (options.logRequests) {
        const started = process.hrtime.bigint();
        res.on('finish', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          log(`${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms`);
        });
      }
      route(req, res).catch((error: unknown) => sendError(req, res, error, log));
    },
    close() {
      hub.closeAll();
    },
  };
}
