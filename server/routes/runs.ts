// /api/runs: create, list (newest first, filtered, paged by Link), read, patch, delete.
import type { ServerResponse } from 'node:http';
import { RUNS_DEFAULT_LIMIT, RUNS_MAX_LIMIT } from '../../shared/constants.ts';
import { invalid } from '../../shared/errors.ts';
import type { Run } from '../../shared/types.ts';
import {
  parseIntParam,
  quote,
  validateRunInput,
  validateRunPatch,
  validateStatus,
} from '../../shared/validate.ts';
import type { AppServices } from '../app-services.ts';
import { existingRun } from '../existing-run.ts';
import { readJsonBody } from '../read-body.ts';
import { sendEmpty, sendJson } from '../respond.ts';
import type { Route } from '../router.ts';
import type { Store } from '../store.ts';

function runMatches(run: Run, status: string | null, q: string | undefined): boolean {
  if (status !== null && run.status !== status) return false;
  if (q === undefined) return true;
  if (run.title.toLowerCase().includes(q) || run.id.toLowerCase().includes(q)) return true;
  return Object.values(run.metadata).some((value) =>
    (typeof value === 'string' ? value : (JSON.stringify(value) ?? '')).toLowerCase().includes(q),
  );
}

/** GET /api/runs: newest first, filtered by status and text, paged with a Link header. */
function listRuns(store: Store, res: ServerResponse, query: URLSearchParams): void {
  const status = query.get('status');
  if (status !== null) validateStatus(status);
  const q = query.get('q')?.toLowerCase() || undefined;
  const limit = parseIntParam(query.get('limit'), 'limit', RUNS_DEFAULT_LIMIT, 1, RUNS_MAX_LIMIT);
  const before = query.get('before');
  if (before !== null && !store.getRun(before))
    throw invalid(`before names no run; got ${quote(before)}`);
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
    const next = new URLSearchParams(query);
    next.set('limit', String(limit));
    next.set('before', page[page.length - 1]!.id);
    headers.link = `</api/runs?${next}>; rel="next"`;
  }
  sendJson(res, 200, page, headers);
}

export function runRoutes({ store }: AppServices): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/runs',
      async handler({ req, res }) {
        const input = validateRunInput(await readJsonBody(req));
        const { run, created } = store.createRun(input);
        await store.durable();
        sendJson(res, created ? 201 : 200, run);
      },
    },
    {
      method: 'GET',
      path: '/api/runs',
      handler: ({ res, query }) => listRuns(store, res, query),
    },
    {
      method: 'GET',
      path: '/api/runs/:runId',
      handler({ res, params }) {
        sendJson(res, 200, existingRun(store, params.runId!));
      },
    },
    {
      method: 'PATCH',
      path: '/api/runs/:runId',
      async handler({ req, res, params }) {
        const run = existingRun(store, params.runId!);
        const body = await readJsonBody(req);
        if (body === undefined) throw invalid('patch must be a JSON object; got an empty body');
        const updated = store.patchRun(run.id, validateRunPatch(body));
        await store.durable();
        sendJson(res, 200, updated);
      },
    },
    {
      method: 'DELETE',
      path: '/api/runs/:runId',
      async handler({ res, params }) {
        store.deleteRun(existingRun(store, params.runId!).id);
        await store.durable();
        sendEmpty(res, 204);
      },
    },
  ];
}
