// Writes an ExportTraceServiceRequest in OTLP JSON exactly as OTLP/HTTP specifies: lowerCamelCase
// keys, ids as lowercase hex, enums as integers, 64-bit integers (times, intValue) as decimal
// strings, fields at their default value left out.
import { VERSION } from '../shared/constants.ts';

export interface OutgoingSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** trace.proto SpanKind. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  /** trace.proto StatusCode and its message; code 0 (unset) is left out. */
  status: { code: number; message?: string };
}

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } };

interface KeyValue {
  key: string;
  value: AnyValue;
}

/** A JSON value as an AnyValue; null and undefined are left out by the callers. */
export function anyValue(value: unknown): AnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  }
  if (Array.isArray(value))
    return { arrayValue: { values: value.filter((item) => item != null).map(anyValue) } };
  if (typeof value === 'object' && value !== null)
    return { kvlistValue: { values: keyValues(value as Record<string, unknown>) } };
  return { stringValue: String(value) };
}

export function keyValues(attributes: Record<string, unknown>): KeyValue[] {
  const list: KeyValue[] = [];
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (value !== undefined && value !== null) list.push({ key, value: anyValue(value) });
  }
  return list;
}

function spanJson(span: OutgoingSpan): Record<string, unknown> {
  const json: Record<string, unknown> = { traceId: span.traceId, spanId: span.spanId };
  if (span.parentSpanId !== '') json.parentSpanId = span.parentSpanId;
  json.name = span.name;
  json.kind = span.kind;
  json.startTimeUnixNano = span.startNs.toString();
  json.endTimeUnixNano = span.endNs.toString();
  const attributes = keyValues(span.attributes);
  if (attributes.length > 0) json.attributes = attributes;
  if (span.status.code !== 0) {
    const status: Record<string, unknown> = { code: span.status.code };
    if (span.status.message) status.message = span.status.message;
    json.status = status;
  }
  return json;
}

/** One request: every span under one resource and our instrumentation scope. */
export function encodeOtlpJson(spans: OutgoingSpan[], resource: Record<string, unknown>): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [
          { scope: { name: 'agent-ops', version: VERSION }, spans: spans.map(spanJson) },
        ],
      },
    ],
  });
}
