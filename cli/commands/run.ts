// The default command: the original simulated runner, one run or many (--runs / --concurrency).
import { randomInt } from 'node:crypto';
import { MAX_SEED } from '../../shared/random.ts';
import { runDashboardUrl } from '../../shared/run-url.ts';
import { USAGE_REPORT } from '../../shared/span-events.ts';
import type { EventInput } from '../../shared/types.ts';
import { quote } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION, RUN_ID_OPTION } from '../common-options.ts';
import { EXIT } from '../exit-codes.ts';
import { appendGithubSummary } from '../github-summary.ts';
import { listenForInterrupt, SIGNAL_EXIT_CODES, type StopSignal } from '../interrupt-signal.ts';
import { newRunId } from '../../shared/new-run-id.ts';
import type { HttpClient } from '../http-client.ts';
import type { Output } from '../output.ts';
import type { ParsedArgs } from '../parse-args.ts';
import { percentile } from '../percentile.ts';
import { ProgressBar } from '../progress-bar.ts';
import {
  simulateRun,
  type SimulatedRunOptions,
  type SimulatedRunResult,
} from '../simulated-run.ts';
import { runIdentity } from '../run-identity.ts';
import { withClient } from '../with-client.ts';

export const MAX_STEPS = 1_000_000;
export const DEFAULT_INTERVAL_MS = 500;
export const MAX_INTERVAL_MS = 3_600_000;

export const runCommand: Command = {
  name: 'run',
  summary: 'Run the simulated agent (the default command)',
  usage: '[run] [options]',
  options: [
    {
      name: 'title',
      flags: ['--title'],
      type: 'string',
      valueName: 'text',
      default: 'Agent Test Run',
      description: 'Run title',
    },
    {
      name: 'steps',
      flags: ['--steps'],
      type: 'integer',
      valueName: 'n',
      min: 1,
      max: MAX_STEPS,
      default: 10,
      description: 'Number of steps',
    },
    {
      name: 'interval',
      flags: ['--interval'],
      type: 'duration',
      unit: 'ms',
      valueName: 'duration',
      min: 0,
      max: MAX_INTERVAL_MS,
      default: DEFAULT_INTERVAL_MS,
      description: 'Pause between steps (250ms, 2s; bare number: ms)',
    },
    {
      name: 'failAt',
      flags: ['--failAt', '--fail-at'],
      type: 'integer',
      valueName: 'step',
      min: 1,
      max: MAX_STEPS,
      description: 'Fail the run at this step (exit 1)',
    },
    {
      name: 'approveAt',
      flags: ['--approveAt', '--approve-at'],
      type: 'integer',
      valueName: 'step',
      min: 1,
      max: MAX_STEPS,
      description: 'Ask for approval before this step; go on if approved, fail (exit 1) if denied',
    },
    {
      name: 'seed',
      flags: ['--seed'],
      type: 'integer',
      valueName: 'n',
      min: 0,
      max: MAX_SEED,
      description:
        'Seed for the mix of events; the same seed sends the same sequence (default random)',
    },
    RUN_ID_OPTION,
    {
      name: 'runs',
      flags: ['--runs'],
      type: 'integer',
      valueName: 'n',
      min: 1,
      max: 100_000,
      default: 1,
      description: 'Stress: run this many full lifecycles and print a summary',
    },
    {
      name: 'concurrency',
      flags: ['--concurrency'],
      type: 'integer',
      valueName: 'c',
      min: 1,
      max: 1000,
      default: 4,
      description: 'Stress: how many runs at once',
    },
    {
      name: 'quiet',
      flags: ['--quiet', '-q'],
      type: 'boolean',
      description: 'Print only the run id',
    },
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    {
      name: 'version',
      flags: ['--version', '-v'],
      type: 'boolean',
      description: 'Print the version',
    },
    HELP_OPTION,
  ],
  examples: [
    'agent-ops --steps 20 --interval 200',
    'agent-ops --steps 10 --failAt 5',
    'agent-ops --steps 10 --approveAt 3',
    'agent-ops --steps 1000 --interval 0 --seed 42 --json',
    'agent-ops --runs 50 --concurrency 10 --steps 20 --interval 10',
  ],

  run: (args) =>
    // The runner's usage errors point at the top-level help.
    withClient(args, { command: '', maxPositionals: 0 }, async ({ options, client, output }) => {
      const { id, runs, plan } = planFrom(options);
      const interrupt = listenForInterrupt();
      try {
        const signal = interrupt.signal;
        if (runs === 1) {
          const runId = id ?? newRunId();
          return await runOne(
            { ...plan, signal, runId, quiet: options.quiet === true },
            client,
            output,
          );
        }
        return await runMany(
          { ...plan, signal },
          runs,
          Number(options.concurrency),
          client,
          output,
        );
      } finally {
        interrupt.dispose();
      }
    }),
};

/** The runner's options, checked against each other before anything is sent. */
function planFrom(options: ParsedArgs['options']): {
  id: string | undefined;
  runs: number;
  plan: Omit<Plan, 'signal'>;
} {
  const command = '';
  const steps = Number(options.steps);
  const failAt = options.failAt === undefined ? undefined : Number(options.failAt);
  if (failAt !== undefined && failAt > steps) {
    throw usageError(
      `--failAt must be at most --steps (${steps}); got ${quote(String(failAt))}`,
      command,
    );
  }
  const approveAt = options.approveAt === undefined ? undefined : Number(options.approveAt);
  if (approveAt !== undefined && approveAt > steps) {
    throw usageError(
      `--approveAt must be at most --steps (${steps}); got ${quote(String(approveAt))}`,
      command,
    );
  }
  const runs = Number(options.runs);
  const { id, title } = runIdentity(options, command, String(options.title));
  if (id !== undefined && runs > 1) {
    throw usageError(`--id names one run and cannot be used with --runs ${runs}`, command);
  }
  const seed = options.seed === undefined ? randomInt(0, MAX_SEED) : Number(options.seed);
  const intervalMs = Number(options.interval);
  return { id, runs, plan: { title, steps, intervalMs, failAt, approveAt, seed } };
}

/** What every run of one invocation shares. */
type Plan = Pick<
  SimulatedRunOptions,
  'title' | 'steps' | 'intervalMs' | 'failAt' | 'approveAt' | 'seed' | 'signal'
>;

type Client = HttpClient;

function exitCodeFor(result: SimulatedRunResult): number {
  if (result.status === 'stopped')
    return result.stopSignal ? SIGNAL_EXIT_CODES[result.stopSignal] : EXIT.stopped;
  return result.status === 'completed' ? EXIT.ok : EXIT.failed;
}

function describeStep(events: readonly EventInput[]): string {
  const find = (test: (event: EventInput) => boolean) => events.find(test)?.payload ?? {};
  const call = events.find((event) => event.type === 'tool.called');
  const parts: string[] = [];
  if (call) {
    const result = find((event) => event.type === 'tool.result');
    parts.push(`tool ${String(call.payload?.toolName)} (${String(result.duration)} ms)`);
  }
  const metric = events.find((event) => event.type === 'metric');
  if (metric) {
    const { name, value, unit } = metric.payload ?? {};
    parts.push(`metric ${String(name)} = ${String(value)} ${String(unit)}`);
  }
  const task = events.find((event) => event.agentId !== undefined);
  if (task) parts.push(`task ${String(task.payload?.taskName)}`);
  const usage = events.find((event) => event.type === USAGE_REPORT);
  if (usage) parts.push(`llm ${String(usage.payload?.outputTokens)} tokens out`);
  return parts.join(', ');
}

async function runOne(
  plan: Plan & { runId: string; quiet: boolean },
  client: Client,
  output: Output,
): Promise<number> {
  const url = runDashboardUrl(client.baseUrl, plan.runId);
  const chatty = !output.json && !plan.quiet;
  const useBar = chatty && process.stderr.isTTY === true && !process.env.CI;
  const bar = useBar ? new ProgressBar(process.stderr, plan.steps) : undefined;
  const result = await simulateRun({
    ...plan,
    client,
    onCreated: (run) => {
      if (plan.quiet && !output.json) return output.info(run.id);
      if (plan.quiet) return;
      const failNote = plan.failAt === undefined ? '' : `, failing at step ${plan.failAt}`;
      output.info(
        `${output.paint('bold', `Run ${run.id}`)} ${quote(run.title)}: ${plan.steps} steps every ${plan.intervalMs} ms${failNote}, seed ${plan.seed}`,
      );
      output.info(`  ${output.paint('cyan', url)}`);
    },
    onStep: (step, events) => {
      if (bar) bar.update(step, describeStep(events));
      else if (chatty) output.info(`step ${step}/${plan.steps}  ${describeStep(events)}`);
    },
    onControl: (what) => {
      bar?.clear();
      if (!plan.quiet) output.note(output.paint('yellow', `agent-ops: ${what}`));
    },
  });
  bar?.clear();

  const seconds = (result.durationMs / 1000).toFixed(1);
  if (!plan.quiet) {
    if (result.status === 'completed') {
      output.info(output.paint('green', `✔ completed: ${result.events} events in ${seconds} s`));
    } else if (result.status === 'error') {
      output.info(output.paint('red', `✖ error: ${result.errorMessage}`));
    } else {
      const by = result.stopSignal ?? `request (${result.stopReason})`;
      output.info(output.paint('yellow', `■ stopped by ${by} after step ${result.stepsDone}`));
    }
    output.info(`  ${output.paint('cyan', url)}`);
  }
  if (output.json) {
    output.result({
      runId: result.runId,
      title: plan.title,
      status: result.status,
      ...(result.errorMessage === undefined ? {} : { errorMessage: result.errorMessage }),
      steps: plan.steps,
      stepsDone: result.stepsDone,
      seed: plan.seed,
      events: result.events,
      durationMs: result.durationMs,
      url,
    });
  }
  appendGithubSummary({
    runId: result.runId,
    title: plan.title,
    status: result.status,
    events: result.events,
    durationMs: result.durationMs,
    ...(result.errorMessage === undefined ? {} : { errorMessage: result.errorMessage }),
    url,
  });
  return exitCodeFor(result);
}

async function runMany(
  plan: Plan,
  runs: number,
  concurrency: number,
  client: Client,
  output: Output,
): Promise<number> {
  const startedAt = performance.now();
  const results: SimulatedRunResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runs && !plan.signal.aborted) {
      const index = next++;
      const result = await simulateRun({
        ...plan,
        client,
        runId: newRunId(),
        seed: (plan.seed + index) % (MAX_SEED + 1),
      });
      results.push(result);
      const mark =
        result.status === 'completed' ? output.paint('green', '✔') : output.paint('red', '✖');
      output.info(
        `${mark} ${result.runId} ${result.status}  ${result.events} events  ${(result.durationMs / 1000).toFixed(1)} s`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs) }, worker));

  const durationMs = Math.round(performance.now() - startedAt);
  const latencies = results.flatMap((result) => result.ackLatenciesMs);
  const count = (status: string): number =>
    results.filter((result) => result.status === status).length;
  const events = results.reduce((sum, result) => sum + result.events, 0);
  const summary = {
    runs: results.length,
    concurrency,
    completed: count('completed'),
    failed: count('error'),
    stopped: count('stopped'),
    events,
    durationMs,
    eventsPerSecond: Math.round(events / Math.max(durationMs / 1000, 0.001)),
    ackLatencyMs: {
      p50: Math.round(percentile(latencies, 50) * 10) / 10,
      p99: Math.round(percentile(latencies, 99) * 10) / 10,
    },
    runIds: results.map((result) => result.runId),
  };
  output.info(
    [
      output.paint(
        'bold',
        `${summary.runs} runs, ${concurrency} at a time, in ${(durationMs / 1000).toFixed(1)} s`,
      ),
      `  completed ${summary.completed} · failed ${summary.failed} · stopped ${summary.stopped}`,
      `  ${events} events · ${summary.eventsPerSecond} events/s`,
      `  ack latency p50 ${summary.ackLatencyMs.p50} ms · p99 ${summary.ackLatencyMs.p99} ms`,
    ].join('\n'),
  );
  if (output.json) output.result(summary);
  if (plan.signal.aborted) return SIGNAL_EXIT_CODES[plan.signal.reason as StopSignal];
  return summary.failed > 0 ? EXIT.failed : EXIT.ok;
}
