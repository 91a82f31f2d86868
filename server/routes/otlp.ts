// POST /v1/traces: OTLP/HTTP trace ingest (JSON or protobuf, gzip or not). Each trace becomes the
// run `otel-<traceId>` and its spans span, tool-call and usage events (otlp-to-events.ts). Answers
// as OTLP/HTTP says, in the request's encoding: 200 (partialSuccess for refused spans), 400 for a
// body that does not decode, 413 over the size limit, 415 for other media types.
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { MAX_OTLP_BODY_BYTES } from '../../shared/constants.ts';
import { invalid } from '../../shared/errors.ts';
import { OTLP_JSON_TYPE, OTLP_PROTOBUF_TYPE, OTLP_TRACES_PATH } from '../../shared/otlp.ts';
import { quote } from '../../shared/validate.ts';
import type { AppServices } from '../app-services.ts';
import { decodeOtlpJson } from '../decode-otlp-json.ts';
import { decodeOtlpProtobuf } from '../decode-otlp-protobuf.ts';
import { sendExportAnswer, sendOtlpError, type OtlpEncoding } from '../encode-otlp-answer.ts';
import { HttpError } from '../http-error.ts';
import type { SpanRefusal } from '../incoming-span.ts';
import { otlpSpansToEvents, type TraceEvents } from '../otlp-to-events.ts';
import { parseJsonBytes, readBody, tooLarge } from '../read-body.ts';
import { errorAnswer } from '../respond.ts';
import type { Route } from '../router.ts';
import type { Store } from '../store.ts';

const gunzipAsync = promisify(gunzip);
/** How many refusals the partialSuccess message names; the count covers them all. */
const REFUSALS_NAMED = 5;

function encodingOf(req: IncomingMessage): OtlpEncoding {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === OTLP_JSON_TYPE) return 'json';
  if (type === OTLP_PROTOBUF_TYPE) return 'protobuf';
  throw new HttpError(
    415,
    `content-type must be ${OTLP_JSON_TYPE} or ${OTLP_PROTOBUF_TYPE}; got ${quote(req.headers['content-type'] ?? '')}`,
  );
}

/** The body gunzipped when it says so; the unpacked size is held to MAX_OTLP_BODY_BYTES too. */
async function decodeContent(req: IncomingMessage, raw: Buffer): Promise<Buffer> {
  const coding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (coding === 'identity') return raw;
  if (coding !== 'gzip')
    throw new HttpError(415, `content-encoding must be gzip or identity; got ${quote(coding)}`);
  try {
    return await gunzipAsync(raw, { maxOutputLength: MAX_OTLP_BODY_BYTES });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new HttpError(413, `${tooLarge(MAX_OTLP_BODY_BYTES).message} once gunzipped`);
    throw invalid(`request body is not valid gzip: ${(error as Error).message}`);
  }
}

function refusalMessage(refused: SpanRefusal[]): string {
  if (refused.length === 0) return '';
  const named = refused.slice(0, REFUSALS_NAMED).map((r) => `${r.where}: ${r.message}`);
  const more =
    refused.length > REFUSALS_NAMED ? `; and ${refused.length - REFUSALS_NAMED} more` : '';
  return `${refused.length} span${refused.length === 1 ? '' : 's'} refused: ${named.join('; ')}${more}`;
}

/** Creates the trace's run with its title and metadata, or names an untitled one once its root comes. */
function prepareRun(store: Store, trace: TraceEvents): void {
  const run = store.getRun(trace.runId);
  if (!run) {
    store.createRun({ id: trace.runId, title: trace.title, metadata: trace.metadata });
    return;
  }
  if (trace.title !== undefined && run.title === run.id)
    store.patchRun(run.id, { title: trace.title });
}

export function otlpRoutes({ store }: AppServices): Route[] {
  return [
    {
      method: 'POST',
      path: OTLP_TRACES_PATH,
      async handler({ req, res }) {
        // Read to the end before any answer, so a client still sending is not cut off.
        const raw = await readBody(req, MAX_OTLP_BODY_BYTES);
        const encoding = encodingOf(req);
        try {
          const body = await decodeContent(req, raw);
          const decoded =
            encoding === 'json'
              ? decodeOtlpJson(body.length === 0 ? {} : parseJsonBytes(body))
              : decodeOtlpProtobuf(body);
          const { traces, refused } = otlpSpansToEvents(decoded.spans, decoded.refused);
          for (const trace of traces) prepareRun(store, trace);
          await Promise.all(traces.map((trace) => store.appendEvents(trace.runId, trace.events)));
          await store.durable();
          sendExportAnswer(res, encoding, refused.length, refusalMessage(refused));
        } catch (error) {
          const answer = errorAnswer(error);
          if (answer.status === 500) throw error;
          sendOtlpError(res, encoding, answer.status, answer.message, answer.headers);
        }
      },
    },
  ];
}
