// One span of an OTLP export request as both decoders (JSON and protobuf) hand it on: ids as
// lowercase hex of whatever length was sent (checked later, per span), times as exact nanoseconds.
import type { JsonObject } from '../shared/types.ts';

export interface IncomingSpanEvent {
  timeNs: bigint;
  name: string;
  attributes: JsonObject;
}

export interface IncomingSpan {
  /** Where the span was in the request, for messages: `resourceSpans[0].scopeSpans[1].spans[2]`. */
  where: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: JsonObject;
  events: IncomingSpanEvent[];
  status: { code: number; message: string };
  /** The resource's attributes, shared by the spans of one ResourceSpans. */
  resource: JsonObject;
}

/** A span the request carried but that cannot be taken, and why. */
export interface SpanRefusal {
  where: string;
  message: string;
}

export interface DecodedTraces {
  spans: IncomingSpan[];
  refused: SpanRefusal[];
}

/** Sets an attribute unless its key would replace the object's prototype. */
export function setAttribute(target: JsonObject, key: string, value: unknown): void {
  if (key !== '__proto__') target[key] = value;
}
