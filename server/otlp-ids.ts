// Trace and span ids for what we export, derived from run and span ids (docs/protocol.md,
// "OpenTelemetry out"): the same run always gives the same trace, so sending twice never makes two.
import { createHash } from 'node:crypto';
import { SPAN_ID_BYTES, TRACE_ID_BYTES } from '../shared/otlp.ts';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The first 16 bytes of SHA-256 of the run id, as hex. */
export function traceIdOf(runId: string): string {
  return digest(runId).toString('hex', 0, TRACE_ID_BYTES);
}

/**
 * The first 8 bytes of SHA-256 of `<runId> NUL <spanId>`, as hex. The run's own root span is the
 * span id "" (no span of ours has an empty id).
 */
export function spanIdOf(runId: string, spanId: string): string {
  return digest(`${runId}\u0000${spanId}`).toString('hex', 0, SPAN_ID_BYTES);
}

/** One run's ids, each hashed once: a span's id is needed again as its children's parent. */
export class RunIds {
  readonly traceId: string;
  readonly rootSpanId: string;
  #runId: string;
  #spans = new Map<string, string>();

  constructor(runId: string) {
    this.#runId = runId;
    this.traceId = traceIdOf(runId);
    this.rootSpanId = spanIdOf(runId, '');
  }

  span(spanId: string): string {
    let id = this.#spans.get(spanId);
    if (id === undefined) this.#spans.set(spanId, (id = spanIdOf(this.#runId, spanId)));
    return id;
  }
}
