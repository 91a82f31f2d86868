// The span and usage event conventions of docs/protocol.md ("Spans and usage"): their names, the
// original server's spellings (`span.start` / `span.end`), and the checks ingest applies to their
// payloads so a bad span or usage report is refused with a message instead of stored.
import { MAX_EVENT_ID_LENGTH, MAX_NAME_LENGTH } from './constants.ts';
import { invalid } from './errors.ts';
import type { JsonObject } from './types.ts';
import { quote } from './validate.ts';

export const SPAN_KINDS = ['agent', 'llm', 'tool', 'task', 'other'] as const;
export type SpanKind = (typeof SPAN_KINDS)[number];

export const SPAN_STARTED = 'span.started';
export const SPAN_ENDED = 'span.ended';
/** The original server's names, accepted as the two above. */
export const SPAN_START_COMPAT = 'span.start';
export const SPAN_END_COMPAT = 'span.end';
export const USAGE_REPORT = 'usage.report';

export const USAGE_NUMBER_FIELDS = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'totalTokens',
  'costUsd',
] as const;

/** A reportId becomes the event id, so the store's idempotency makes a repeat count once. */
export const USAGE_REPORT_ID_PREFIX = 'usage:';
export const MAX_REPORT_ID_LENGTH = MAX_EVENT_ID_LENGTH - USAGE_REPORT_ID_PREFIX.length;

export function isSpanStart(type: string): boolean {
  return type === SPAN_STARTED || type === SPAN_START_COMPAT;
}

export function isSpanEnd(type: string): boolean {
  return type === SPAN_ENDED || type === SPAN_END_COMPAT;
}

function checkId(payload: JsonObject, field: string, path: string, required: boolean): void {
  const value = payload[field];
  if (value === undefined || value === null) {
    if (required) throw invalid(`${path}.payload.${field} is required; got ${quote(value)}`);
    return;
  }
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME_LENGTH)
    throw invalid(
      `${path}.payload.${field} must be a non-empty string of at most ${MAX_NAME_LENGTH} characters; got ${quote(value)}`,
    );
}

function checkOptionalObject(payload: JsonObject, field: string, path: string): void {
  const value = payload[field];
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${path}.payload.${field} must be a JSON object; got ${quote(value)}`);
}

/**
 * Checks the payload of a span or usage event; other event types pass untouched. Tool calls are
 * not checked beyond their optional parentSpanId: the original CLI's pairs carry no id at all.
 */
export function validateTraceEventPayload(type: string, payload: JsonObject, path: string): void {
  if (isSpanStart(type)) {
    checkId(payload, 'spanId', path, true);
    checkId(payload, 'parentSpanId', path, false);
    const { name, kind } = payload;
    if (name !== undefined && (typeof name !== 'string' || name.length > MAX_NAME_LENGTH))
      throw invalid(
        `${path}.payload.name must be a string of at most ${MAX_NAME_LENGTH} characters; got ${quote(name)}`,
      );
    if (kind !== undefined && kind !== null && typeof kind !== 'string')
      throw invalid(`${path}.payload.kind must be a string; got ${quote(kind)}`);
    checkTs(payload, path);
    checkOptionalObject(payload, 'attributes', path);
    checkOptionalObject(payload, 'attrs', path);
  } else if (isSpanEnd(type)) {
    checkId(payload, 'spanId', path, true);
    const { status } = payload;
    if (status !== undefined && status !== null && status !== 'ok' && status !== 'error')
      throw invalid(`${path}.payload.status must be "ok" or "error"; got ${quote(status)}`);
    checkTs(payload, path);
    checkOptionalObject(payload, 'attributes', path);
    checkOptionalObject(payload, 'attrs', path);
  } else if (type === USAGE_REPORT) {
    for (const field of USAGE_NUMBER_FIELDS) {
      const value = payload[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
        throw invalid(
          `${path}.payload.${field} must be a number of 0 or more; got ${quote(value)}`,
        );
    }
    checkId(payload, 'spanId', path, false);
    const { reportId, model } = payload;
    if (
      reportId !== undefined &&
      reportId !== null &&
      (typeof reportId !== 'string' || reportId === '' || reportId.length > MAX_REPORT_ID_LENGTH)
    )
      throw invalid(
        `${path}.payload.reportId must be a non-empty string of at most ${MAX_REPORT_ID_LENGTH} characters; got ${quote(reportId)}`,
      );
    if (model !== undefined && model !== null && typeof model !== 'string')
      throw invalid(`${path}.payload.model must be a string; got ${quote(model)}`);
  } else if (type === 'tool.called' || type === 'tool.result') {
    checkId(payload, 'parentSpanId', path, false);
  }
}

/** The original's `ts` is epoch milliseconds; an ISO string is taken too. */
function checkTs(payload: JsonObject, path: string): void {
  const { ts } = payload;
  if (ts === undefined || ts === null) return;
  if (typeof ts === 'number' && Number.isFinite(ts) && ts >= 0) return;
  if (typeof ts === 'string' && !Number.isNaN(Date.parse(ts))) return;
  throw invalid(
    `${path}.payload.ts must be epoch milliseconds or an ISO-8601 time; got ${quote(ts)}`,
  );
}

/** The time a span event stands for: its payload's `ts` when given, else the event's. */
export function spanEventMs(payload: JsonObject, eventTs: string): number {
  const { ts } = payload;
  if (typeof ts === 'number' && Number.isFinite(ts)) return ts;
  if (typeof ts === 'string') {
    const parsed = Date.parse(ts);
    if (!Number.isNaN(parsed)) return parsed;
  }
  return Date.parse(eventTs);
}
