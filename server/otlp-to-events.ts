// What a decoded OTLP span becomes in agent-ops (docs/protocol.md, "OpenTelemetry in"): each trace
// a run `otel-<traceId>`, each span `span.started` / `span.ended` events at its start and end times,
// an `execute_tool` span a tool call (`tool.called` / `tool.result`), GenAI usage a `usage.report`,
// and the root span's end the run's end. Event ids derive from the span id, so a span sent twice is
// stored once.
import {
  AGENT_OPERATIONS,
  ERROR_TYPE_ATTRIBUTE,
  GEN_AI,
  LLM_OPERATIONS,
  OTEL_RUN_PREFIX,
  OTEL_STATUS_CODE,
  SERVICE_NAME_ATTRIBUTE,
  SPAN_ID_BYTES,
  TOOL_OPERATION,
  TRACE_ID_BYTES,
} from '../shared/otlp.ts';
import { MAX_NAME_LENGTH } from '../shared/constants.ts';
import type { EventInput, JsonObject } from '../shared/types.ts';
import type { IncomingSpan, SpanRefusal } from './incoming-span.ts';

const NANOS_PER_MS = 1_000_000n;
const NANOS_PER_SECOND = 1_000_000_000n;
const ZERO_TRACE_ID = '0'.repeat(TRACE_ID_BYTES * 2);
const ZERO_SPAN_ID = '0'.repeat(SPAN_ID_BYTES * 2);

/** The events of one trace, in time order, and what its run is made with. */
export interface TraceEvents {
  runId: string;
  /** The root span's name, when this request carried the root. */
  title?: string;
  metadata: JsonObject;
  events: EventInput[];
}

export interface SpansToEvents {
  traces: TraceEvents[];
  refused: SpanRefusal[];
  /** Spans taken. */
  accepted: number;
}

/** An ISO-8601 time as exact as OTLP's nanoseconds: 3, 6 or 9 digits of fraction as needed. */
export function nanosToIso(ns: bigint): string {
  const seconds = ns / NANOS_PER_SECOND;
  let fraction = (ns % NANOS_PER_SECOND).toString().padStart(9, '0');
  if (fraction.endsWith('000000')) fraction = fraction.slice(0, 3);
  else if (fraction.endsWith('000')) fraction = fraction.slice(0, 6);
  // A trace's spans mostly fall in the same few seconds: the date part is made once per second.
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    lastPrefix = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  }
  return `${lastPrefix}.${fraction}Z`;
}
let lastSeconds = -1n;
let lastPrefix = '';

function idProblem(span: IncomingSpan): string | undefined {
  const check = (value: string, field: string, bytes: number, zero: string) => {
    if (value.length !== bytes * 2)
      return `${field} must be ${bytes} bytes (${bytes * 2} hex digits); got ${value.length / 2} bytes`;
    if (value === zero) return `${field} must not be all zeros`;
    return undefined;
  };
  return (
    check(span.traceId, 'traceId', TRACE_ID_BYTES, ZERO_TRACE_ID) ??
    check(span.spanId, 'spanId', SPAN_ID_BYTES, ZERO_SPAN_ID) ??
    (span.parentSpanId === ''
      ? undefined
      : check(span.parentSpanId, 'parentSpanId', SPAN_ID_BYTES, ZERO_SPAN_ID))
  );
}

function timeProblem(span: IncomingSpan): string | undefined {
  if (span.startNs === 0n) return 'startTimeUnixNano must be set';
  if (span.endNs === 0n) return 'endTimeUnixNano must be set';
  if (span.endNs < span.startNs)
    return `endTimeUnixNano ${span.endNs} is before startTimeUnixNano ${span.startNs}`;
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function count(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number >= 0 ? number : undefined;
}

/** The operation a span follows the GenAI conventions for, from its attribute or its name. */
function operationOf(span: IncomingSpan): string | undefined {
  return text(span.attributes[GEN_AI.operationName]) ?? span.name.split(' ', 1)[0];
}

function kindOf(span: IncomingSpan, operation: string | undefined): 'agent' | 'llm' | 'other' {
  if ((AGENT_OPERATIONS as readonly (string | undefined)[]).includes(operation)) return 'agent';
  if ((LLM_OPERATIONS as readonly (string | undefined)[]).includes(operation)) return 'llm';
  if (text(span.attributes[GEN_AI.requestModel])) return 'llm';
  return 'other';
}

/** The error of a span whose status is ERROR: its status message, an exception event, error.type. */
function errorOf(span: IncomingSpan): string | undefined {
  if (span.status.code !== OTEL_STATUS_CODE.error) return undefined;
  const exception = span.events.find((event) => event.name === 'exception')?.attributes;
  return (
    text(span.status.message) ??
    text(exception?.['exception.message']) ??
    text(span.attributes[ERROR_TYPE_ATTRIBUTE]) ??
    'error'
  );
}

function usageOf(span: IncomingSpan): JsonObject | undefined {
  const usage: JsonObject = {};
  const inputTokens = count(span.attributes[GEN_AI.inputTokens]);
  const outputTokens = count(span.attributes[GEN_AI.outputTokens]);
  const cacheReadTokens = count(span.attributes[GEN_AI.cacheReadTokens]);
  if (inputTokens === undefined && outputTokens === undefined && cacheReadTokens === undefined)
    return undefined;
  if (inputTokens !== undefined) usage.inputTokens = inputTokens;
  if (outputTokens !== undefined) usage.outputTokens = outputTokens;
  if (cacheReadTokens !== undefined) usage.cacheReadTokens = cacheReadTokens;
  const model =
    text(span.attributes[GEN_AI.responseModel]) ?? text(span.attributes[GEN_AI.requestModel]);
  if (model !== undefined) usage.model = model;
  usage.spanId = span.spanId;
  return usage;
}

/** Tool arguments and results are often JSON text; kept as JSON when they parse to an object. */
function jsonish(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\s*[{[]/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

interface Timed {
  ns: bigint;
  event: EventInput;
}

function spanEvents(span: IncomingSpan): Timed[] {
  const operation = operationOf(span);
  const error = errorOf(span);
  const start = nanosToIso(span.startNs);
  const end = nanosToIso(span.endNs);
  const parent = span.parentSpanId === '' ? {} : { parentSpanId: span.parentSpanId };
  const id = `otel:${span.spanId}`;
  const timed: Timed[] = [];
  const at = (ns: bigint, event: EventInput) => timed.push({ ns, event });

  if (operation === TOOL_OPERATION) {
    // A tool call's id is its span id, so spans under it nest there; the producer's call id stays
    // in the attributes.
    const toolName =
      text(span.attributes[GEN_AI.toolName]) ?? span.name.replace(/^execute_tool /, '');
    const called: JsonObject = { toolName, toolCallId: span.spanId, ...parent };
    const args = span.attributes[GEN_AI.toolCallArguments];
    if (args !== undefined) called.args = jsonish(args);
    called.attributes = span.attributes;
    at(span.startNs, { id: `${id}:called`, ts: start, type: 'tool.called', payload: called });
    const result: JsonObject = { toolName, toolCallId: span.spanId };
    const output = span.attributes[GEN_AI.toolCallResult];
    if (output !== undefined) result.result = jsonish(output);
    if (error !== undefined) result.error = error;
    result.duration = Number(span.endNs - span.startNs) / Number(NANOS_PER_MS);
    const usage = usageOf(span);
    if (usage) at(span.endNs, { id: `${id}:usage`, ts: end, type: 'usage.report', payload: usage });
    at(span.endNs, {
      id: `${id}:result`,
      ts: end,
      type: 'tool.result',
      level: error === undefined ? 'info' : 'error',
      payload: result,
    });
  } else {
    const started: JsonObject = { spanId: span.spanId, ...parent, name: span.name };
    started.kind = kindOf(span, operation);
    started.attributes = span.attributes;
    at(span.startNs, { id: `${id}:started`, ts: start, type: 'span.started', payload: started });
    const usage = usageOf(span);
    if (usage) at(span.endNs, { id: `${id}:usage`, ts: end, type: 'usage.report', payload: usage });
    const ended: JsonObject = { spanId: span.spanId, status: error === undefined ? 'ok' : 'error' };
    if (error !== undefined) ended.error = error;
    at(span.endNs, {
      id: `${id}:ended`,
      ts: end,
      type: 'span.ended',
      level: error === undefined ? 'info' : 'error',
      payload: ended,
    });
  }
  if (span.parentSpanId === '') {
    // The root span's end is the trace's end, so the run does not look alive forever.
    const errorType = text(span.attributes[ERROR_TYPE_ATTRIBUTE]);
    at(
      span.endNs,
      error === undefined
        ? { id: `${id}:run`, ts: end, type: 'run.completed', payload: { by: 'otel' } }
        : {
            id: `${id}:run`,
            ts: end,
            type: 'run.error',
            level: 'error',
            payload: { message: error, ...(errorType ? { errorType } : {}), by: 'otel' },
          },
    );
  }
  return timed;
}

export function otlpSpansToEvents(spans: IncomingSpan[], refused: SpanRefusal[]): SpansToEvents {
  const byTrace = new Map<string, { trace: TraceEvents; timed: Timed[] }>();
  let accepted = 0;
  for (const span of spans) {
    const problem = idProblem(span) ?? timeProblem(span);
    if (problem !== undefined) {
      refused.push({ where: span.where, message: problem });
      continue;
    }
    accepted++;
    // Span names are held to the length our own span events allow; the rest is cut, not refused.
    if (span.name.length > MAX_NAME_LENGTH)
      span.name = `${span.name.slice(0, MAX_NAME_LENGTH - 1)}…`;
    let entry = byTrace.get(span.traceId);
    if (!entry) {
      const metadata: JsonObject = { source: 'otlp', traceId: span.traceId };
      const service = text(span.resource[SERVICE_NAME_ATTRIBUTE]);
      if (service !== undefined) metadata[SERVICE_NAME_ATTRIBUTE] = service;
      const trace: TraceEvents = { runId: OTEL_RUN_PREFIX + span.traceId, metadata, events: [] };
      byTrace.set(span.traceId, (entry = { trace, timed: [] }));
    }
    if (span.parentSpanId === '' && entry.trace.title === undefined && span.name !== '')
      entry.trace.title = span.name;
    for (const item of spanEvents(span)) entry.timed.push(item);
  }
  const traces: TraceEvents[] = [];
  for (const { trace, timed } of byTrace.values()) {
    // Stable: a span's own events keep their order when times tie.
    timed.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
    trace.events = timed.map((item) => item.event);
    traces.push(trace);
  }
  return { traces, refused, accepted };
}
