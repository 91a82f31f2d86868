// Decodes an OTLP ExportTraceServiceRequest in binary protobuf (opentelemetry-proto
// collector/trace/v1, trace/v1, common/v1, resource/v1) into IncomingSpans. Only the fields agent-ops
// uses are read; every other field is skipped, as protobuf requires of unknown fields. A body that
// does not decode throws a ValidationError (400) naming the problem.
import { MAX_JSON_DEPTH } from '../shared/constants.ts';
import { invalid } from '../shared/errors.ts';
import type { JsonObject } from '../shared/types.ts';
import {
  setAttribute,
  type DecodedTraces,
  type IncomingSpan,
  type IncomingSpanEvent,
} from './incoming-span.ts';
import {
  ProtobufReader,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LENGTH,
  WIRE_VARINT,
} from './protobuf-reader.ts';

export function decodeOtlpProtobuf(body: Buffer): DecodedTraces {
  const spans: IncomingSpan[] = [];
  const reader = new ProtobufReader(body);
  let resourceIndex = 0;
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field !== 1) {
      reader.skipField(wire);
      continue;
    }
    reader.expect(wire, WIRE_LENGTH, 'ExportTraceServiceRequest.resource_spans');
    readResourceSpans(reader.message(), `resourceSpans[${resourceIndex++}]`, spans);
  }
  return { spans, refused: [] };
}

function readResourceSpans(reader: ProtobufReader, where: string, spans: IncomingSpan[]): void {
  // The resource may come after the spans on the wire; spans share the object and see it filled.
  const resource: JsonObject = {};
  let scopeIndex = 0;
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE_LENGTH, 'ResourceSpans.resource');
      readResource(reader.message(), resource);
    } else if (field === 2) {
      reader.expect(wire, WIRE_LENGTH, 'ResourceSpans.scope_spans');
      readScopeSpans(reader.message(), `${where}.scopeSpans[${scopeIndex++}]`, resource, spans);
    } else reader.skipField(wire);
  }
}

function readResource(reader: ProtobufReader, attributes: JsonObject): void {
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE_LENGTH, 'Resource.attributes');
      readKeyValue(reader.message(), attributes, 0);
    } else reader.skipField(wire);
  }
}

function readScopeSpans(
  reader: ProtobufReader,
  where: string,
  resource: JsonObject,
  spans: IncomingSpan[],
): void {
  let spanIndex = 0;
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 2) {
      reader.expect(wire, WIRE_LENGTH, 'ScopeSpans.spans');
      spans.push(readSpan(reader.message(), `${where}.spans[${spanIndex++}]`, resource));
    } else reader.skipField(wire);
  }
}

function readSpan(reader: ProtobufReader, where: string, resource: JsonObject): IncomingSpan {
  const span: IncomingSpan = {
    where,
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    attributes: {},
    events: [],
    status: { code: 0, message: '' },
    resource,
  };
  while (!reader.done) {
    const [field, wire] = reader.tag();
    switch (field) {
      case 1:
        reader.expect(wire, WIRE_LENGTH, 'Span.trace_id');
        span.traceId = reader.hex();
        break;
      case 2:
        reader.expect(wire, WIRE_LENGTH, 'Span.span_id');
        span.spanId = reader.hex();
        break;
      case 4:
        reader.expect(wire, WIRE_LENGTH, 'Span.parent_span_id');
        span.parentSpanId = reader.hex();
        break;
      case 5:
        reader.expect(wire, WIRE_LENGTH, 'Span.name');
        span.name = reader.string('Span.name');
        break;
      case 6:
        reader.expect(wire, WIRE_VARINT, 'Span.kind');
        span.kind = reader.varint();
        break;
      case 7:
        reader.expect(wire, WIRE_FIXED64, 'Span.start_time_unix_nano');
        span.startNs = reader.fixed64();
        break;
      case 8:
        reader.expect(wire, WIRE_FIXED64, 'Span.end_time_unix_nano');
        span.endNs = reader.fixed64();
        break;
      case 9:
        reader.expect(wire, WIRE_LENGTH, 'Span.attributes');
        readKeyValue(reader.message(), span.attributes, 0);
        break;
      case 11:
        reader.expect(wire, WIRE_LENGTH, 'Span.events');
        span.events.push(readSpanEvent(reader.message()));
        break;
      case 15:
        reader.expect(wire, WIRE_LENGTH, 'Span.status');
        span.status = readStatus(reader.message());
        break;
      case 16:
        reader.expect(wire, WIRE_FIXED32, 'Span.flags');
        reader.fixed32();
        break;
      default:
        reader.skipField(wire);
    }
  }
  return span;
}

function readSpanEvent(reader: ProtobufReader): IncomingSpanEvent {
  const event: IncomingSpanEvent = { timeNs: 0n, name: '', attributes: {} };
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE_FIXED64, 'Span.Event.time_unix_nano');
      event.timeNs = reader.fixed64();
    } else if (field === 2) {
      reader.expect(wire, WIRE_LENGTH, 'Span.Event.name');
      event.name = reader.string('Span.Event.name');
    } else if (field === 3) {
      reader.expect(wire, WIRE_LENGTH, 'Span.Event.attributes');
      readKeyValue(reader.message(), event.attributes, 0);
    } else reader.skipField(wire);
  }
  return event;
}

function readStatus(reader: ProtobufReader): { code: number; message: string } {
  const status = { code: 0, message: '' };
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 2) {
      reader.expect(wire, WIRE_LENGTH, 'Status.message');
      status.message = reader.string('Status.message');
    } else if (field === 3) {
      reader.expect(wire, WIRE_VARINT, 'Status.code');
      status.code = reader.varint();
    } else reader.skipField(wire);
  }
  return status;
}

/** A KeyValue into `target`; a repeated key keeps its last value, as a map would. */
function readKeyValue(reader: ProtobufReader, target: JsonObject, depth: number): void {
  let key = '';
  let value: unknown = null;
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE_LENGTH, 'KeyValue.key');
      key = reader.string('KeyValue.key');
    } else if (field === 2) {
      reader.expect(wire, WIRE_LENGTH, 'KeyValue.value');
      value = readAnyValue(reader.message(), depth + 1);
    } else reader.skipField(wire);
  }
  setAttribute(target, key, value);
}

/** An AnyValue as JSON: int64 beyond 2^53 as a decimal string, bytes as base64. */
function readAnyValue(reader: ProtobufReader, depth: number): unknown {
  if (depth > MAX_JSON_DEPTH)
    throw invalid(`protobuf attribute values are nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown = null;
  while (!reader.done) {
    const [field, wire] = reader.tag();
    switch (field) {
      case 1:
        reader.expect(wire, WIRE_LENGTH, 'AnyValue.string_value');
        value = reader.string('AnyValue.string_value');
        break;
      case 2:
        reader.expect(wire, WIRE_VARINT, 'AnyValue.bool_value');
        value = reader.varint() !== 0;
        break;
      case 3: {
        reader.expect(wire, WIRE_VARINT, 'AnyValue.int_value');
        const int = reader.int64();
        const small = Number(int);
        value = Number.isSafeInteger(small) ? small : int.toString();
        break;
      }
      case 4: {
        reader.expect(wire, WIRE_FIXED64, 'AnyValue.double_value');
        const double = reader.double();
        value = Number.isFinite(double) ? double : String(double);
        break;
      }
      case 5: {
        reader.expect(wire, WIRE_LENGTH, 'AnyValue.array_value');
        value = readArrayValue(reader.message(), depth);
        break;
      }
      case 6: {
        reader.expect(wire, WIRE_LENGTH, 'AnyValue.kvlist_value');
        const list: JsonObject = {};
        const inner = reader.message();
        while (!inner.done) {
          const [listField, listWire] = inner.tag();
          if (listField === 1) {
            inner.expect(listWire, WIRE_LENGTH, 'KeyValueList.values');
            readKeyValue(inner.message(), list, depth);
          } else inner.skipField(listWire);
        }
        value = list;
        break;
      }
      case 7:
        reader.expect(wire, WIRE_LENGTH, 'AnyValue.bytes_value');
        value = reader.bytes().toString('base64');
        break;
      default:
        reader.skipField(wire);
    }
  }
  return value;
}

function readArrayValue(reader: ProtobufReader, depth: number): unknown[] {
  const values: unknown[] = [];
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE_LENGTH, 'ArrayValue.values');
      values.push(readAnyValue(reader.message(), depth + 1));
    } else reader.skipField(wire);
  }
  return values;
}
