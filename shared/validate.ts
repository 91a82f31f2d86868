// Input validation shared by the server (which enforces it) and the CLI (which checks early).
// Every message names the field and quotes the value it got.
import {
  LEVELS,
  MAX_ATTEMPTS_LIMIT,
  MAX_INPUT_VALUE_LENGTH,
  MAX_LEASE_S,
  TASK_NAME_PATTERN,
  EVENT_TYPE_PATTERN,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_EVENT_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_NAME_LENGTH,
  MAX_TITLE_LENGTH,
  RUN_ID_PATTERN,
  RUN_STATUSES,
  TERMINAL_STATUSES,
} from './constants.ts';
import { invalid } from './errors.ts';
import { USAGE_REPORT, USAGE_REPORT_ID_PREFIX, validateTraceEventPayload } from './span-events.ts';
import type {
  EventInput,
  JsonObject,
  Level,
  RunInput,
  RunPatch,
  RunStatus,
  TaskInput,
} from './types.ts';

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;

/**
 * Whether the fields of an ISO_8601 match name a real instant: year 0001 on (year 0000 is not a
 * calendar year), a day that its month has (no February 30th), hours 0–23, minutes and seconds
 * 0–59, an offset under a day. Date.parse alone lets some of these through.
 */
function isRealDateTime(match: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = match
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)));
  if (year! < 1 || month! < 1 || month! > 12 || day! < 1) return false;
  const daysInMonth = new Date(Date.UTC(2000, month!, 0)).getUTCDate();
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  if (day! > (month === 2 && !leap ? 28 : daysInMonth)) return false;
  return hour! <= 23 && minute! <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
}

/** A short, quoted rendering of a bad value for an error message. */
export function quote(value: unknown): string {
  let text: string;
  try {
    text =
      typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isTerminal(status: RunStatus): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * Refuses JSON nested deeper than MAX_JSON_DEPTH and any `__proto__` key, so nothing downstream
 * can overflow the stack or have an object's prototype replaced by a merge. The walk keeps no
 * path (it runs on every event); only a refusal walks again to name where the problem is.
 */
export function checkJsonShape(value: unknown, path = 'body'): void {
  if (shapeIsFine(value, 0)) return;
  throw invalid(describeShapeProblem(value, path, 0)!);
}

function shapeIsFine(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!shapeIsFine(item, depth + 1)) return false;
    return true;
  }
  for (const key in value) {
    if (key === '__proto__' || !shapeIsFine((value as JsonObject)[key], depth + 1)) return false;
  }
  return true;
}

function describeShapeProblem(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= MAX_JSON_DEPTH) return `${path} is nested deeper than ${MAX_JSON_DEPTH} levels`;
  const entries = Array.isArray(value)
    ? value.map((item, i) => [`${path}[${i}]`, item] as const)
    : Object.keys(value).map((key) => [`${path}.${key}`, (value as JsonObject)[key]] as const);
  if (!Array.isArray(value) && Object.keys(value).includes('__proto__')) {
    return `${path} has a "__proto__" key, which is not allowed`;
  }
  for (const [childPath, child] of entries) {
    const problem = describeShapeProblem(child, childPath, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

function checkKnownFields(body: JsonObject, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw invalid(`${what} has an unknown field ${quote(key)}; allowed: ${allowed.join(', ')}`);
    }
  }
}

function optionalString(body: JsonObject, field: string, max: number): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string; got ${quote(value)}`);
  if (value.length > max)
    throw invalid(`${field} must be at most ${max} characters; got ${value.length}`);
  return value;
}

export function validateRunId(value: unknown, field = 'id'): string {
  if (typeof value !== 'string' || !RUN_ID_PATTERN.test(value)) {
    throw invalid(
      `${field} must match ${RUN_ID_PATTERN.source} (letters, digits, . _ : -, at most 128); got ${quote(value)}`,
    );
  }
  return value;
}

export function validateStatus(value: unknown, field = 'status'): RunStatus {
  if (typeof value !== 'string' || !(RUN_STATUSES as readonly string[]).includes(value)) {
    throw invalid(`${field} must be one of ${RUN_STATUSES.join(', ')}; got ${quote(value)}`);
  }
  return value as RunStatus;
}

export function validateLevel(value: unknown, field = 'level'): Level {
  if (typeof value !== 'string' || !(LEVELS as readonly string[]).includes(value)) {
    throw invalid(`${field} must be one of ${LEVELS.join(', ')}; got ${quote(value)}`);
  }
  return value as Level;
}

function optionalObject(body: JsonObject, field: string): JsonObject | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid(`${field} must be a JSON object; got ${quote(value)}`);
  return value;
}

export function validateTimestamp(value: unknown, field = 'ts'): string {
  const match = typeof value === 'string' ? ISO_8601.exec(value) : null;
  if (
    typeof value !== 'string' ||
    !match ||
    !isRealDateTime(match) ||
    Number.isNaN(Date.parse(value))
  ) {
    throw invalid(
      `${field} must be an ISO-8601 date-time of a real date like 2024-05-01T12:00:00.000Z; got ${quote(value)}`,
    );
  }
  return value;
}

export function validateRunInput(body: unknown): RunInput {
  if (body === undefined) return {};
  if (!isObject(body)) throw invalid(`run must be a JSON object; got ${quote(body)}`);
  checkKnownFields(
    body,
    ['id', 'title', 'status', 'metadata', 'lease', 'task', 'input', 'maxAttempts'],
    'run',
  );
  const input: RunInput = {};
  if (body.id !== undefined && body.id !== null) input.id = validateRunId(body.id);
  const title = optionalString(body, 'title', MAX_TITLE_LENGTH);
  if (title !== undefined) input.title = title;
  if (body.status !== undefined && body.status !== null) input.status = validateStatus(body.status);
  const metadata = optionalObject(body, 'metadata');
  if (metadata !== undefined) input.metadata = metadata;
  if (body.lease !== undefined && body.lease !== null) {
    const lease = body.lease;
    if (typeof lease !== 'number' || !Number.isInteger(lease) || lease < 1 || lease > MAX_LEASE_S)
      throw invalid(
        `lease must be a whole number of seconds from 1 to ${MAX_LEASE_S}; got ${quote(lease)}`,
      );
    input.lease = lease;
  }
  validateQueueFields(body, input);
  return input;
}

/** `task`, `input` and `maxAttempts` queue a run: a task means status queued, and only a task takes the others. */
function validateQueueFields(body: JsonObject, input: RunInput): void {
  const { task, maxAttempts } = body;
  if (task === undefined || task === null) {
    for (const field of ['input', 'maxAttempts'])
      if (body[field] !== undefined && body[field] !== null)
        throw invalid(`${field} is for queued work and needs a task; got no task`);
    return;
  }
  input.task = validateTaskName(task);
  if (input.status !== undefined && input.status !== 'queued')
    throw invalid(
      `a run with a task is queued; status must be "queued" or absent; got ${quote(input.status)}`,
    );
  input.status = 'queued';
  const values = optionalObject(body, 'input');
  if (values !== undefined) input.input = validateTaskInput(values);
  if (maxAttempts !== undefined && maxAttempts !== null) {
    if (
      typeof maxAttempts !== 'number' ||
      !Number.isInteger(maxAttempts) ||
      maxAttempts < 1 ||
      maxAttempts > MAX_ATTEMPTS_LIMIT
    )
      throw invalid(
        `maxAttempts must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}; got ${quote(maxAttempts)}`,
      );
    input.maxAttempts = maxAttempts;
  }
}

export function validateTaskName(value: unknown, field = 'task'): string {
  if (typeof value !== 'string' || !TASK_NAME_PATTERN.test(value))
    throw invalid(
      `${field} must be a task name (letters, digits, . _ -, at most 64); got ${quote(value)}`,
    );
  return value;
}

/** A task's input: each value a string, number or boolean, since it fills one argument. */
export function validateTaskInput(value: JsonObject, field = 'input'): TaskInput {
  for (const [key, item] of Object.entries(value)) {
    const scalar =
      typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean';
    if (!scalar)
      throw invalid(
        `${field}.${key} must be a string, number or boolean (it fills one argument); got ${quote(item)}`,
      );
    if (typeof item === 'string' && item.length > MAX_INPUT_VALUE_LENGTH)
      throw invalid(
        `${field}.${key} must be at most ${MAX_INPUT_VALUE_LENGTH} characters; got ${item.length}`,
      );
  }
  return value as TaskInput;
}

export function validateRunPatch(body: unknown): RunPatch {
  if (!isObject(body)) throw invalid(`patch must be a JSON object; got ${quote(body)}`);
  checkKnownFields(body, ['title', 'status', 'errorMessage', 'metadata'], 'patch');
  const patch: RunPatch = {};
  const title = optionalString(body, 'title', MAX_TITLE_LENGTH);
  if (title !== undefined) patch.title = title;
  if (body.status !== undefined) patch.status = validateStatus(body.status);
  if (body.errorMessage === null) patch.errorMessage = null;
  else {
    const message = optionalString(body, 'errorMessage', MAX_ERROR_MESSAGE_LENGTH);
    if (message !== undefined) patch.errorMessage = message;
  }
  const metadata = optionalObject(body, 'metadata');
  if (metadata !== undefined) patch.metadata = metadata;
  return patch;
}

const EVENT_FIELDS = ['id', 'ts', 'type', 'level', 'agentId', 'taskId', 'payload', 'seq', 'runId'];

/** Validates one event as a producer sent it; `seq` and a matching `runId` are accepted and ignored. */
export function validateEventInput(body: unknown, runId: string, path = 'event'): EventInput {
  if (!isObject(body)) throw invalid(`${path} must be a JSON object; got ${quote(body)}`);
  checkKnownFields(body, EVENT_FIELDS, path);
  const { type } = body;
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) {
    throw invalid(
      `${path}.type must be a dotted name like "task.progress" (letters, digits, _ . : / -, at most 128); got ${quote(type)}`,
    );
  }
  if (body.runId !== undefined && body.runId !== runId) {
    throw invalid(
      `${path}.runId ${quote(body.runId)} does not match the run in the path ${quote(runId)}`,
    );
  }
  const input: EventInput = { type };
  if (body.id !== undefined && body.id !== null) {
    if (
      typeof body.id !== 'string' ||
      body.id.length === 0 ||
      body.id.length > MAX_EVENT_ID_LENGTH
    ) {
      throw invalid(
        `${path}.id must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters; got ${quote(body.id)}`,
      );
    }
    input.id = body.id;
  }
  if (body.ts !== undefined && body.ts !== null)
    input.ts = validateTimestamp(body.ts, `${path}.ts`);
  if (body.level !== undefined && body.level !== null)
    input.level = validateLevel(body.level, `${path}.level`);
  for (const field of ['agentId', 'taskId'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value.length > MAX_NAME_LENGTH) {
      throw invalid(
        `${path}.${field} must be a string of at most ${MAX_NAME_LENGTH} characters; got ${quote(value)}`,
      );
    }
    input[field] = value;
  }
  if (body.payload !== undefined && body.payload !== null) {
    if (!isObject(body.payload))
      throw invalid(`${path}.payload must be a JSON object; got ${quote(body.payload)}`);
    input.payload = body.payload;
  }
  validateTraceEventPayload(type, input.payload ?? {}, path);
  // A usage report's reportId is its identity: a repeat is the same event and counts once.
  const reportId = input.payload?.reportId;
  if (type === USAGE_REPORT && typeof reportId === 'string')
    input.id = USAGE_REPORT_ID_PREFIX + reportId;
  return input;
}

/** Parses an integer query or flag value within bounds, naming the parameter when it is wrong. */
export function parseIntParam(
  raw: string | null,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}; got ${quote(raw)}`);
  }
  return value;
}
