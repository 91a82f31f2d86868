// `agent-ops worker --task name='command {param} …' --concurrency N`: offer tasks, take the runs
// the server assigns, and run each exactly as `exec` would (or the simulated agent for --simulate).
import { randomInt, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { MAX_WORKER_CONCURRENCY } from '../../shared/constants.ts';
import { MAX_SEED } from '../../shared/random.ts';
import { runApiPath } from '../../shared/run-url.ts';
import type { Run, WorkerAnnouncement } from '../../shared/types.ts';
import { quote } from '../../shared/validate.ts';
import { CliError, usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION } from '../common-options.ts';
import { execRun } from '../exec-run.ts';
import { EXIT } from '../exit-codes.ts';
import type { HttpClient } from '../http-client.ts';
import { listenForInterrupt, SIGNAL_EXIT_CODES, type StopSignal } from '../interrupt-signal.ts';
import type { Output } from '../output.ts';
import type { ParsedArgs } from '../parse-args.ts';
import { simulateRun } from '../simulated-run.ts';
import { fillTaskCommand, TaskInputError } from '../task-command.ts';
import { holdWorkerConnection } from '../worker-connection.ts';
import {
  offerOf,
  parseTaskSpec,
  simulateInput,
  SIMULATE_TASK,
  type WorkerTask,
} from '../worker-tasks.ts';
import { withClient } from '../with-client.ts';
import { GRACE_OPTION, NO_REDACT_OPTION } from './exec.ts';

/** The command's output belongs to the run (as events), not to the worker's terminal. */
const discard = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Offer tasks and run the queued runs the server assigns (see enqueue)',
  usage: "worker --task name='command {param} …' [--task …] [options]",
  options: [
    {
      name: 'task',
      flags: ['--task'],
      type: 'string',
      valueName: "name[:format]='command'",
      repeatable: true,
      description: 'A task to offer; {param} is filled from the run input (repeatable)',
    },
    {
      name: 'simulate',
      flags: ['--simulate'],
      type: 'boolean',
      description: `Also offer the built-in "${SIMULATE_TASK}" task (input steps, interval, failAt)`,
    },
    {
      name: 'concurrency',
      flags: ['--concurrency'],
      type: 'integer',
      valueName: 'n',
      min: 1,
      max: MAX_WORKER_CONCURRENCY,
      default: 1,
      description: 'Runs at once, at most',
    },
    {
      name: 'name',
      flags: ['--name'],
      type: 'string',
      valueName: 'text',
      description: 'How the worker is listed (default <host>-<pid>)',
    },
    GRACE_OPTION,
    NO_REDACT_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    "agent-ops worker --task test='npm test' --concurrency 2",
    "agent-ops worker --task fix:claude='claude -p {prompt} --output-format stream-json --verbose'",
    'agent-ops worker --simulate',
  ],
  notes: [
    'Each --task is name[:format]=command line. The command line is split into words like a',
    'shell splits plain words and \'…\' / "…" quotes, but no shell ever runs it. A {param} is filled',
    'from the run input, and each word stays one argument whatever the value holds. A run with an',
    'input the task does not take, or without one it needs, fails with a message; the worker',
    'goes on. The format (text, jsonl, claude) is read as exec --format reads it.',
    'Claims are pushed by the server: an idle worker starts a queued run at once. A lost server',
    'is retried for as long as the worker runs; its commands go on meanwhile. Ctrl-C stops',
    'taking work, stops its runs (they end stopped) and exits 130; a second Ctrl-C kills them.',
  ],

  run: (args) =>
    withClient(args, { command: 'worker', maxPositionals: 0 }, ({ options, client, output }) =>
      work(options, client, output),
    ),
};

/** The tasks --task and --simulate offer, each name once. */
function tasksFrom(options: ParsedArgs['options']): Map<string, WorkerTask> {
  const command = 'worker';
  const tasks = new Map<string, WorkerTask>();
  for (const spec of (options.task as string[] | undefined) ?? []) {
    let task: WorkerTask;
    try {
      task = parseTaskSpec(spec);
    } catch (error) {
      throw usageError((error as Error).message, command);
    }
    if (tasks.has(task.name)) throw usageError(`--task ${task.name} is given twice`, command);
    tasks.set(task.name, task);
  }
  if (options.simulate === true)
    tasks.set(SIMULATE_TASK, { kind: 'simulate', name: SIMULATE_TASK });
  if (tasks.size === 0)
    throw usageError(
      "offer at least one task: --task name='command {param} …' or --simulate",
      command,
    );
  return tasks;
}

/** Announces the worker, runs what the server assigns until interrupted, and says how it ended. */
async function work(
  options: ParsedArgs['options'],
  client: HttpClient,
  output: Output,
): Promise<number> {
  const tasks = tasksFrom(options);
  const concurrency = Number(options.concurrency);
  const name = options.name === undefined ? `${hostname()}-${process.pid}` : String(options.name);
  const announcement: WorkerAnnouncement = {
    name,
    host: hostname(),
    pid: process.pid,
    concurrency,
    tasks: [...tasks.values()].map(offerOf),
  };
  const log = (text: string): void => output.info(`agent-ops worker: ${text}`);
  const running = new Map<string, Promise<void>>();
  // The server frees a slot as soon as a run's last event is stored; the run here still waits for
  // that event's acknowledgement, so a claim can arrive a moment before a slot is free here.
  const waiting = new Map<string, Run>();
  const startWaiting = (): void => {
    for (const [id, run] of waiting) {
      if (running.size >= concurrency || interrupt.signal.aborted) return;
      waiting.delete(id);
      const done = runClaim(run, tasks.get(run.task ?? ''), settings).finally(() => {
        running.delete(id);
        startWaiting();
      });
      running.set(id, done);
    }
  };
  const interrupt = listenForInterrupt((signal) =>
    output.note(
      `agent-ops worker: ${signal}: taking no more work; stopping ${running.size} run(s) (again to kill at once)`,
    ),
  );
  const settings = {
    client,
    output,
    log,
    stop: interrupt.signal,
    graceMs: Number(options.grace),
    redact: options.noRedact !== true,
    worker: name,
  };
  try {
    await holdWorkerConnection({
      client,
      announcement,
      signal: interrupt.signal,
      onConnected: (worker, again) =>
        log(
          again
            ? `back on ${client.baseUrl}; ${worker.running.length} claim(s) kept`
            : `ready: ${name} (${worker.id}) offers ${[...tasks.keys()].join(', ')}; concurrency ${concurrency}; ${client.baseUrl}`,
        ),
      onLost: (reason) =>
        output.note(
          output.paint(
            'yellow',
            `agent-ops worker: lost ${client.baseUrl} (${reason}); reconnecting, ${running.size} run(s) go on`,
          ),
        ),
      onClaim: (run) => {
        // A reconnect repeats the claims still held: those already here are not taken again.
        if (interrupt.signal.aborted || running.has(run.id) || waiting.has(run.id)) return;
        waiting.set(run.id, run);
        startWaiting();
      },
    });
    // Claims not started yet are this worker's runs too: they end stopped with the others.
    await Promise.all([
      ...running.values(),
      ...[...waiting.keys()].map((id) =>
        stopUnstarted(client, id, String(interrupt.signal.reason)).catch(() => {}),
      ),
    ]);
    return interrupt.signal.aborted
      ? SIGNAL_EXIT_CODES[interrupt.signal.reason as StopSignal]
      : EXIT.ok;
  } finally {
    interrupt.dispose();
  }
}

interface ClaimSettings {
  client: HttpClient;
  output: Output;
  log(text: string): void;
  /** Aborted with SIGINT / SIGTERM: every run stops as exec's would on that signal. */
  stop: AbortSignal;
  graceMs: number;
  redact: boolean;
  worker: string;
}

/** Runs one claimed run to its end; a bad input or a failure ends that run, never the worker. */
async function runClaim(
  run: Run,
  task: WorkerTask | undefined,
  settings: ClaimSettings,
): Promise<void> {
  const { client, log } = settings;
  log(`${run.id}: claimed (task ${run.task}, attempt ${run.attempt ?? 1}) ${quote(run.title)}`);
  try {
    if (!task) throw new TaskInputError(`this worker does not offer task ${quote(run.task)}`);
    let status: string;
    let detail: string | undefined;
    if (task.kind === 'simulate') {
      const input = simulateInput(run.input ?? {});
      const result = await simulateRun({
        client,
        runId: run.id,
        title: run.title,
        ...input,
        seed: randomInt(MAX_SEED),
        signal: settings.stop,
      });
      ({ status } = result);
      detail = result.errorMessage ?? result.stopReason;
    } else {
      const { program, args } = fillTaskCommand(task.name, task.command, run.input ?? {});
      const result = await execRun({
        client,
        runId: run.id,
        title: run.title,
        command: program,
        args,
        format: task.format,
        graceMs: settings.graceMs,
        redact: settings.redact,
        metadata: { task: task.name, worker: settings.worker },
        stdout: discard(),
        stderr: discard(),
        note: (text) => log(`${run.id}: ${text.replace(/^agent-ops: /, '')}`),
        stopSignal: settings.stop,
        forwardStdin: false,
      });
      ({ status } = result);
      detail = result.errorMessage ?? result.stopReason;
    }
    log(`${run.id}: ${status}${detail === undefined ? '' : ` (${detail})`}`);
  } catch (error) {
    if (error instanceof TaskInputError) {
      log(`${run.id}: error (${error.message})`);
      await failRun(client, run.id, error.message).catch((failure: unknown) =>
        log(`${run.id}: cannot record the error: ${(failure as Error).message}`),
      );
    } else if (error instanceof CliError) log(`${run.id}: ${error.message}`);
    else log(`${run.id}: unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  }
}

/** Ends a claimed run that never started because the worker is stopping. */
async function stopUnstarted(client: HttpClient, runId: string, signal: string): Promise<void> {
  await client.request('POST', runApiPath(runId, '/events'), {
    id: randomUUID(),
    type: 'run.stopped',
    level: 'warn',
    payload: { message: `Stopped by ${signal} before it started`, reason: signal },
  });
}

/** Ends a run whose input does not fit its task. */
async function failRun(client: HttpClient, runId: string, message: string): Promise<void> {
  await client.request('POST', runApiPath(runId, '/events'), {
    id: randomUUID(),
    type: 'run.error',
    level: 'error',
    payload: { message, reason: 'bad-input' },
  });
}
