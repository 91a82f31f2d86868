// A worker's announcement (POST /api/workers), checked by the server and built by the CLI.
import {
  MAX_NAME_LENGTH,
  MAX_WORKER_CONCURRENCY,
  MAX_WORKER_TASKS,
  PARAM_NAME_PATTERN,
} from './constants.ts';
import { invalid } from './errors.ts';
import type { TaskOffer, TaskParam, WorkerAnnouncement } from './types.ts';
import { isObject, quote, validateRunId, validateTaskName } from './validate.ts';

const FIELDS = ['id', 'name', 'host', 'pid', 'concurrency', 'tasks'];

function shortString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME_LENGTH)
    throw invalid(
      `${field} must be a non-empty string of at most ${MAX_NAME_LENGTH} characters; got ${quote(value)}`,
    );
  return value;
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw invalid(`${field} must be an integer from ${min} to ${max}; got ${quote(value)}`);
  return value;
}

function validateParam(value: unknown, field: string): TaskParam {
  if (!isObject(value) || typeof value.name !== 'string' || !PARAM_NAME_PATTERN.test(value.name))
    throw invalid(
      `${field} must be {"name": <letters, digits, _>, "required": boolean}; got ${quote(value)}`,
    );
  return { name: value.name, required: value.required !== false };
}

function validateOffer(value: unknown, field: string): TaskOffer {
  if (!isObject(value)) throw invalid(`${field} must be a JSON object; got ${quote(value)}`);
  const name = validateTaskName(value.name, `${field}.name`);
  if (!Array.isArray(value.params))
    throw invalid(`${field}.params must be an array; got ${quote(value.params)}`);
  const offer: TaskOffer = {
    name,
    params: value.params.map((param, i) => validateParam(param, `${field}.params[${i}]`)),
  };
  if (typeof value.format === 'string') offer.format = value.format;
  return offer;
}

export function validateWorkerAnnouncement(body: unknown): WorkerAnnouncement {
  if (!isObject(body)) throw invalid(`worker must be a JSON object; got ${quote(body)}`);
  for (const key of Object.keys(body))
    if (!FIELDS.includes(key))
      throw invalid(`worker has an unknown field ${quote(key)}; allowed: ${FIELDS.join(', ')}`);
  if (!Array.isArray(body.tasks) || body.tasks.length > MAX_WORKER_TASKS)
    throw invalid(
      `tasks must be an array of at most ${MAX_WORKER_TASKS}; got ${quote(body.tasks)}`,
    );
  const announcement: WorkerAnnouncement = {
    name: shortString(body.name, 'name'),
    host: shortString(body.host, 'host'),
    pid: integerIn(body.pid, 'pid', 0, 2 ** 32),
    concurrency: integerIn(body.concurrency, 'concurrency', 1, MAX_WORKER_CONCURRENCY),
    tasks: body.tasks.map((task, i) => validateOffer(task, `tasks[${i}]`)),
  };
  if (body.id !== undefined && body.id !== null) announcement.id = validateRunId(body.id, 'id');
  return announcement;
}
