// Decodes an OTLP ExportTraceServiceRequest in OTLP JSON (the proto3 JSON mapping with hex ids,
// integer enums, lowerCamelCase keys, 64-bit integers as decimal strings or numbers) into
// IncomingSpans. Unknown keys are ignored, as OTLP requires. A body whose structure is wrong throws
// a ValidationError (400); a span that is wrong on its own is refused and the rest are kept.
import { MAX_JSON_DEPTH } from '../shared/constants.ts';
import { invalid } from '../shared/errors.ts';
import type { JsonObject } from '../shared/types.ts';
import { isObject, quote } from '../shared/validate.ts';
import {
  setAttribute,
  type DecodedTraces,
  type IncomingSpan,
  type IncomingSpanEvent,
  type SpanRefusal,
} from './incoming-span.ts';

const MAX_UINT64 = 2n ** 64n - 1n;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const HEX = /^[0-9a-fA-F]*$/;
const UNSIGNED = /^\d{1,20}$/;
const SIGNED = /^-?\d{1,20}$/;

/** A problem with one span; it refuses that span only. */
class SpanProblem extends Error {}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`${path} must be an array; got ${quote(value)}`);
  return value;
}

function object(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw invalid(`${path} must be an object; got ${quote(value)}`);
  return value;
}

export function decodeOtlpJson(body: unknown): DecodedTraces {
  const request = object(body, 'body');
  const spans: IncomingSpan[] = [];
  const refused: SpanRefusal[] = [];
  list(request.resourceSpans, 'resourceSpans').forEach((item, r) => {
    const where = `resourceSpans[${r}]`;
    const resourceSpans = object(item, where);
    const resource: JsonObject = {};
    if (resourceSpans.resource !== undefined && resourceSpans.resource !== null) {
      const attributes = object(resourceSpans.resource, `${where}.resource`).attributes;
      readKeyValues(attributes, resource, `${where}.resource.attributes`, 0, invalid);
    }
    list(resourceSpans.scopeSpans, `${where}.scopeSpans`).forEach((scopeItem, s) => {
      const scopeWhere = `${where}.scopeSpans[${s}]`;
      const scopeSpans = object(scopeItem, scopeWhere);
      list(scopeSpans.spans, `${scopeWhere}.spans`).forEach((spanItem, i) => {
        const spanWhere = `${scopeWhere}.spans[${i}]`;
        try {
          spans.push(readSpan(spanItem, spanWhere, resource));
        } catch (error) {
          if (!(error instanceof SpanProblem)) throw error;
          refused.push({ where: spanWhere, message: error.message });
        }
      });
    });
  });
  return { spans, refused };
}

const spanProblem = (message: string) => new SpanProblem(message);

function readSpan(value: unknown, where: string, resource: JsonObject): IncomingSpan {
  if (!isObject(value)) throw spanProblem(`must be an object; got ${quote(value)}`);
  const status = isObject(value.status) ? value.status : {};
  const span: IncomingSpan = {
    where,
    traceId: hexId(value.traceId, 'traceId'),
    spanId: hexId(value.spanId, 'spanId'),
    parentSpanId: hexId(value.parentSpanId, 'parentSpanId'),
    name: optionalString(value.name, 'name'),
    kind: enumValue(value.kind, 'kind'),
    startNs: nanos(value.startTimeUnixNano, 'startTimeUnixNano'),
    endNs: nanos(value.endTimeUnixNano, 'endTimeUnixNano'),
    attributes: {},
    events: [],
    status: {
      code: enumValue(status.code, 'status.code'),
      message: optionalString(status.message, 'status.message'),
    },
    resource,
  };
  readKeyValues(value.attributes, span.attributes, 'attributes', 0, spanProblem);
  if (value.events !== undefined && value.events !== null) {
    if (!Array.isArray(value.events))
      throw spanProblem(`events must be an array; got ${quote(value.events)}`);
    value.events.forEach((item, i) => span.events.push(readSpanEvent(item, `events[${i}]`)));
  }
  return span;
}

function readSpanEvent(value: unknown, path: string): IncomingSpanEvent {
  if (!isObject(value)) throw spanProblem(`${path} must be an object; got ${quote(value)}`);
  const event: IncomingSpanEvent = {
    timeNs: nanos(value.timeUnixNano, `${path}.timeUnixNano`),
    name: optionalString(value.name, `${path}.name`),
    attributes: {},
  };
  readKeyValues(value.attributes, event.attributes, `${path}.attributes`, 0, spanProblem);
  return event;
}

function hexId(value: unknown, field: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || !HEX.test(value))
    throw spanProblem(`${field} must be a hex string; got ${quote(value)}`);
  return value.toLowerCase();
}

function optionalString(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw spanProblem(`${field} must be a string; got ${quote(value)}`);
  return value;
}

/** OTLP JSON writes enums as integers only; the names are not accepted. */
function enumValue(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw spanProblem(`${field} must be an integer enum value; got ${quote(value)}`);
  return value;
}

/** A fixed64 time in nanoseconds: a decimal string (as OTLP writes it) or a JSON number. */
function nanos(value: unknown, field: string): bigint {
  if (value === undefined || value === null) return 0n;
  let result: bigint | undefined;
  if (typeof value === 'string' && UNSIGNED.test(value)) result = BigInt(value);
  else if (typeof value === 'number' && Number.isInteger(value) && value >= 0)
    result = BigInt(value);
  if (result === undefined || result > MAX_UINT64) {
    throw spanProblem(
      `${field} must be a whole number of nanoseconds from 0 to ${MAX_UINT64}; got ${quote(value)}`,
    );
  }
  return result;
}

function readKeyValues(
  value: unknown,
  target: JsonObject,
  path: string,
  depth: number,
  fail: (message: string) => Error,
): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) throw fail(`${path} must be an array; got ${quote(value)}`);
  value.forEach((item, i) => {
    if (!isObject(item) || typeof item.key !== 'string')
      throw fail(`${path}[${i}] must be an object with a string key; got ${quote(item)}`);
    setAttribute(target, item.key, anyValue(item.value, `${path}[${i}].value`, depth + 1, fail));
  });
}

/** An AnyValue as JSON: the one value key it holds; int64 beyond 2^53 stays a decimal string. */
function anyValue(
  value: unknown,
  path: string,
  depth: number,
  fail: (message: string) => Error,
): unknown {
  if (depth > MAX_JSON_DEPTH) throw fail(`${path} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw fail(`${path} must be an AnyValue object; got ${quote(value)}`);
  if ('stringValue' in value) {
    if (typeof value.stringValue !== 'string')
      throw fail(`${path}.stringValue must be a string; got ${quote(value.stringValue)}`);
    return value.stringValue;
  }
  if ('boolValue' in value) {
    if (typeof value.boolValue !== 'boolean')
      throw fail(`${path}.boolValue must be true or false; got ${quote(value.boolValue)}`);
    return value.boolValue;
  }
  if ('intValue' in value) return int64(value.intValue, `${path}.intValue`, fail);
  if ('doubleValue' in value) {
    const double = value.doubleValue;
    if (typeof double === 'number') return double;
    if (double === 'NaN' || double === 'Infinity' || double === '-Infinity') return double;
    throw fail(`${path}.doubleValue must be a number; got ${quote(double)}`);
  }
  if ('bytesValue' in value) {
    if (typeof value.bytesValue !== 'string')
      throw fail(`${path}.bytesValue must be a base64 string; got ${quote(value.bytesValue)}`);
    return value.bytesValue;
  }
  if ('arrayValue' in value) {
    const values = isObject(value.arrayValue) ? value.arrayValue.values : undefined;
    if (values !== undefined && !Array.isArray(values))
      throw fail(`${path}.arrayValue.values must be an array; got ${quote(values)}`);
    return (values ?? []).map((item, i) =>
      anyValue(item, `${path}.arrayValue.values[${i}]`, depth + 1, fail),
    );
  }
  if ('kvlistValue' in value) {
    const result: JsonObject = {};
    const values = isObject(value.kvlistValue) ? value.kvlistValue.values : undefined;
    readKeyValues(values, result, `${path}.kvlistValue.values`, depth, fail);
    return result;
  }
  return null;
}

function int64(value: unknown, path: string, fail: (message: string) => Error): number | string {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && SIGNED.test(value)) {
    const big = BigInt(value);
    if (big >= MIN_INT64 && big <= MAX_INT64) {
      const small = Number(big);
      return Number.isSafeInteger(small) ? small : big.toString();
    }
  }
  throw fail(`${path} must be a 64-bit integer; got ${quote(value)}`);
}
