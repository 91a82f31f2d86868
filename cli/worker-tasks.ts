// The tasks a worker offers: `--task name[:format]='command {param} …'`, and with --simulate the
// built-in `simulate` task (the simulated agent), so the queue can be tried with nothing installed.
import { TASK_NAME_PATTERN } from '../shared/constants.ts';
import type { TaskInput, TaskOffer } from '../shared/types.ts';
import { parseDuration } from '../shared/parse-duration.ts';
import { quote } from '../shared/validate.ts';
import { EXEC_FORMATS, type ExecFormat } from './output-events.ts';
import { MAX_STEPS } from './commands/run.ts';
import { parseTaskCommand, TaskInputError, type TaskCommand } from './task-command.ts';

export const SIMULATE_TASK = 'simulate';

/** The simulated agent's parameters and their defaults (those of `agent-ops run`). */
export const SIMULATE_DEFAULTS = { steps: 10, interval: 500 } as const;
const SIMULATE_PARAMS = ['steps', 'interval', 'failAt'] as const;
const MAX_INTERVAL_MS = 3_600_000;

export type WorkerTask =
  | { kind: 'command'; name: string; format: ExecFormat; command: TaskCommand; line: string }
  | { kind: 'simulate'; name: string };

const SPEC = /^([^=:]+)(?::([^=]+))?=(.*)$/s;

/** `name[:format]=command line`; the message says what is wrong with it. */
export function parseTaskSpec(spec: string): WorkerTask {
  const match = SPEC.exec(spec);
  if (!match) throw new Error(`--task must look like name='command {param} …'; got ${quote(spec)}`);
  const name = match[1]!;
  const format = match[2] ?? 'text';
  const line = match[3]!;
  if (!TASK_NAME_PATTERN.test(name))
    throw new Error(`--task name must be letters, digits, . _ - (at most 64); got ${quote(name)}`);
  if (name === SIMULATE_TASK)
    throw new Error(`--task ${SIMULATE_TASK} is built in: use --simulate`);
  if (!(EXEC_FORMATS as readonly string[]).includes(format))
    throw new Error(
      `--task ${name}:${format}: the format must be one of ${EXEC_FORMATS.join(', ')}; got ${quote(format)}`,
    );
  try {
    return {
      kind: 'command',
      name,
      format: format as ExecFormat,
      command: parseTaskCommand(line),
      line,
    };
  } catch (error) {
    throw new Error(`--task ${name}: ${(error as Error).message}`);
  }
}

export function offerOf(task: WorkerTask): TaskOffer {
  if (task.kind === 'simulate')
    return { name: task.name, params: SIMULATE_PARAMS.map((name) => ({ name, required: false })) };
  return {
    name: task.name,
    params: task.command.params.map((name) => ({ name, required: true })),
    format: task.format,
  };
}

export interface SimulateInput {
  steps: number;
  intervalMs: number;
  failAt: number | undefined;
}

function integerInput(
  input: TaskInput,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = input[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new TaskInputError(
      `task ${quote(SIMULATE_TASK)}: ${name} must be an integer from ${min} to ${max}; got ${quote(raw)}`,
    );
  return value;
}

/** `interval` as the runner's --interval takes it: milliseconds, or a duration such as `250ms`. */
function intervalInput(input: TaskInput): number | undefined {
  const raw = input.interval;
  const ms = typeof raw === 'string' ? parseDuration(raw, 'ms') : undefined;
  if (ms !== undefined && ms <= MAX_INTERVAL_MS) return ms;
  return integerInput(input, 'interval', 0, MAX_INTERVAL_MS);
}

/** The simulated agent's settings from a run's input (numbers may come as strings from a form). */
export function simulateInput(input: TaskInput): SimulateInput {
  const unknown = Object.keys(input).filter(
    (key) => !(SIMULATE_PARAMS as readonly string[]).includes(key),
  );
  if (unknown.length > 0)
    throw new TaskInputError(
      `task ${quote(SIMULATE_TASK)} has no parameter ${unknown.map((key) => quote(key)).join(', ')}; it takes ${SIMULATE_PARAMS.join(', ')}`,
    );
  return {
    steps: integerInput(input, 'steps', 1, MAX_STEPS) ?? SIMULATE_DEFAULTS.steps,
    intervalMs: intervalInput(input) ?? SIMULATE_DEFAULTS.interval,
    failAt: integerInput(input, 'failAt', 1, MAX_STEPS),
  };
}
