// /api/runs/:runId/events: append one event or a batch (answered with the stored records' bytes),
// read pages with filters, or export the whole run as NDJSON.
import type { ServerResponse } from 'node:http';
import {
  EVENTS_DEFAULT_LIMIT,
  EVENTS_MAX_LIMIT,
  MAX_BATCH_EVENTS,
} from '../../shared/constants.ts';
import { APPROVAL_REQUESTED, validateControlEvent } from '../../shared/approvals.ts';
import { ConflictError, ValidationError, invalid } from '../../shared/errors.ts';
import type { EventInput, Run } from '../../shared/types.ts';
import {
  isTerminal,
  parseIntParam,
  quote,
  validateEventInput,
  validateLevel,
  validateRunId,
} from '../../shared/validate.ts';
import type { AppServices } from '../app-services.ts';
import { existingRun } from '../existing-run.ts';
import { HttpError } from '../http-error.ts';
import { readJsonBody } from '../read-body.ts';
import { sendJson, sendJsonBytes, statusOf } from '../respond.ts';
import type { Route } from '../router.ts';
import type { AppendResult, Store } from '../store.ts';

/** NDJSON export reads this many records at a time. */
const EXPORT_PAGE_RECORDS = 1000;

// Pieces of the batch answer `{"results":[{"status":201,"event":…},…]}`.
const RESULTS_OPEN = Buffer.from('{"results":[');
const RESULTS_CLOSE = Buffer.from(']}');
const CREATED_ITEM = Buffer.from('{"status":201,"event":');
const DUPLICATE_ITEM = Buffer.from('{"status":200,"event":');
const CLOSE = Buffer.from('}');
const COMMA = Buffer.from(',');

function recordOf(result: Extract<AppendResult, { event: unknown }>): Buffer {
  return result.record ?? Buffer.from(JSON.stringify(result.event));
}

/** Built from the stored records' bytes rather than serializing every event again. */
function batchAnswer(results: AppendResult[]): Buffer {
  const parts: Buffer[] = [RESULTS_OPEN];
  results.forEach((result, i) => {
    if (i > 0) parts.push(COMMA);
    if ('refused' in result) {
      const item = { status: statusOf(result.refused), error: result.refused.message };
      parts.push(Buffer.from(JSON.stringify(item)));
    } else parts.push(result.created ? CREATED_ITEM : DUPLICATE_ITEM, recordOf(result), CLOSE);
  });
  parts.push(RESULTS_CLOSE);
  return Buffer.concat(parts);
}

/** An approval asked of a finished run could never be decided: 409 instead of waiting forever. */
function refuseOnFinishedRun(store: Store, runId: string, input: EventInput): void {
  if (input.type !== APPROVAL_REQUESTED) return;
  const run = store.getRun(runId);
  if (run && isTerminal(run.status))
    throw new ConflictError(
      `cannot request an approval on run ${quote(runId)}: its status is ${run.status}`,
    );
}

function list(value: string | null): string[] | undefined {
  if (value === null || value === '') return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Resolves when the client has taken what was written, or has gone. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Streams the run as it is now, a page at a time, waiting for the client to take each page. The
 * first page is read before the head, so a refused read is still an error answer.
 */
async function exportNdjson(store: Store, res: ServerResponse, run: Run): Promise<void> {
  // The run as it is now; every read leaves damaged records out (store.readLines).
  const last = run.lastSeq;
  let after = store.firstSeq(run.id) - 1;
  const nextPage = (): string => {
    const page = store.readLines(run.id, after, Math.min(EXPORT_PAGE_RECORDS, last - after));
    after = page.through;
    return page.lines.length === 0 ? '' : page.lines.join('\n') + '\n';
  };
  let page = after < last ? nextPage() : '';
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${run.id}.ndjson"`,
  });
  try {
    for (;;) {
      if (res.destroyed) return;
      if (!res.write(page)) await drainedOrClosed(res);
      if (after >= last) break;
      page = nextPage();
    }
    res.end();
  } catch {
    res.destroy();
  }
}

export function eventRoutes({ store }: AppServices): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/runs/:runId/events',
      async handler({ req, res, params }) {
        const runId = validateRunId(params.runId!, 'run id');
        const body = await readJsonBody(req);
        if (body === undefined)
          throw invalid('event must be a JSON object or an array of them; got an empty body');
        if (!Array.isArray(body)) {
          const input = validateEventInput(body, runId);
          validateControlEvent(input);
          refuseOnFinishedRun(store, runId, input);
          const [result] = await store.appendEvents(runId, [input]);
          if ('refused' in result!) throw result.refused;
          sendJsonBytes(res, result!.created ? 201 : 200, recordOf(result!));
          return;
        }
        if (body.length === 0) throw invalid('event array must hold at least one event');
        if (body.length > MAX_BATCH_EVENTS) {
          throw new HttpError(
            413,
            `event array must hold at most ${MAX_BATCH_EVENTS} events; got ${body.length}`,
          );
        }
        const conflicts = new Map<number, ConflictError>();
        const inputs = body.map((item, i) => {
          try {
            const input = validateEventInput(item, runId, `events[${i}]`);
            validateControlEvent(input, `events[${i}]`);
            refuseOnFinishedRun(store, runId, input);
            return input;
          } catch (error) {
            if (error instanceof ValidationError) return error;
            if (error instanceof ConflictError) conflicts.set(i, error);
            else throw error;
          }
          return undefined;
        });
        const appended = await store.appendEvents(
          runId,
          inputs.filter((input) => input !== undefined),
        );
        // Conflicts never reach the store; they go back into their places in the answer.
        let next = 0;
        const results: AppendResult[] = inputs.map((input, i) =>
          input === undefined ? { refused: conflicts.get(i)! } : appended[next++]!,
        );
        const allStored = results.every((result) => !('refused' in result));
        sendJsonBytes(res, allStored ? 201 : 207, batchAnswer(results));
      },
    },
    {
      method: 'GET',
      path: '/api/runs/:runId/events',
      handler({ res, query, params }) {
        const run = existingRun(store, params.runId!);
        const format = query.get('format');
        if (format === 'ndjson') return exportNdjson(store, res, run);
        if (format !== null && format !== 'json')
          throw invalid(`format must be json or ndjson; got ${quote(format)}`);
        const max = Number.MAX_SAFE_INTEGER;
        const after = query.has('after')
          ? parseIntParam(query.get('after'), 'after', 0, 0, max)
          : undefined;
        const before = query.has('before')
          ? parseIntParam(query.get('before'), 'before', 0, 1, max)
          : undefined;
        if (after !== undefined && before !== undefined)
          throw invalid('after and before cannot be used together');
        const levels = list(query.get('level'));
        levels?.forEach((level) => validateLevel(level));
        const limit = parseIntParam(
          query.get('limit'),
          'limit',
          EVENTS_DEFAULT_LIMIT,
          1,
          EVENTS_MAX_LIMIT,
        );
        const events = store.readEvents(run.id, {
          after,
          before,
          limit,
          types: list(query.get('type')),
          levels,
          q: query.get('q') || undefined,
        });
        sendJson(res, 200, events);
      },
    },
  ];
}
