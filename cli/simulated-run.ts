// One full lifecycle of the simulated agent (the original runner): create the run, announce it,
// stream its steps, end it completed, in error at --failAt, or stopped by a signal.
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import { createRandom } from '../shared/random.ts';
import type { EventInput, Run } from '../shared/types.ts';
import { EventSender, refused } from './event-sender.ts';
import type { HttpClient } from './http-client.ts';
import { simulatedStepEvents } from './simulated-step.ts';

/** Creating the run is the first contact: a server that is simply not there fails fast. */
export const CREATE_RETRY_MS = 5_000;

export interface SimulatedRunOptions {
  client: HttpClient;
  runId: string;
  title: string;
  steps: number;
  intervalMs: number;
  failAt: number | undefined;
  seed: number;
  /** Aborted with the signal's name (`SIGINT`, `SIGTERM`) to stop the run. */
  signal: AbortSignal;
  /** Awaited before each step: the place where pause / stop control can hold or end the loop. */
  beforeStep?: (step: number) => Promise<void>;
  onCreated?: (run: Run) => void;
  onStep?: (step: number, events: readonly EventInput[]) => void;
}

export type SimulatedRunStatus = 'completed' | 'error' | 'stopped';

export interface SimulatedRunResult {
  runId: string;
  status: SimulatedRunStatus;
  errorMessage?: string;
  /** The signal that stopped the run. */
  stopReason?: string;
  stepsDone: number;
  events: number;
  durationMs: number;
  ackLatenciesMs: number[];
}

export async function createRun(client: HttpClient, body: object): Promise<Run> {
  const response = await client.request<Run>('POST', '/api/runs', body, {
    retryForMs: Math.min(CREATE_RETRY_MS, client.retryForMs),
  });
  if (response.status !== 200 && response.status !== 201)
    throw refused('POST /api/runs', response, true);
  return response.body;
}

export async function simulateRun(options: SimulatedRunOptions): Promise<SimulatedRunResult> {
  const { client, runId, steps, intervalMs, failAt, seed, signal } = options;
  const startedAt = performance.now();
  const random = createRandom(seed);
  const run = await createRun(client, { id: runId, title: options.title });
  options.onCreated?.(run);

  const sender = new EventSender(client, runId);
  const config: Record<string, number> = { steps, interval: intervalMs, seed };
  if (failAt !== undefined) config.failAt = failAt;
  sender.emit({ type: 'run.started', payload: { message: 'Agent run initialized', config } });
  sender.patch({
    metadata: {
      estimatedCost: 0.05,
      tags: ['test', 'automated'],
      totalSteps: steps,
      environment: 'cli',
      seed,
    },
  });

  let status: SimulatedRunStatus = 'completed';
  let errorMessage: string | undefined;
  let stepsDone = 0;
  for (let step = 1; step <= steps; step++) {
    if (sender.error) throw sender.error;
    if (signal.aborted) break;
    await options.beforeStep?.(step);
    if (step === failAt) {
      status = 'error';
      errorMessage = `Simulated failure at step ${step}`;
      const stack = new Error(errorMessage).stack ?? `Error: ${errorMessage}`;
      sender.emit({ type: 'run.error', level: 'error', payload: { message: errorMessage, stack } });
      sender.patch({ status: 'error', errorMessage });
      break;
    }
    const events = simulatedStepEvents(step, steps, random);
    for (const event of events) sender.emit(event);
    stepsDone = step;
    options.onStep?.(step, events);
    if (step === steps) break;
    try {
      // With no interval, still let the sender's I/O run between steps.
      if (intervalMs > 0) await sleep(intervalMs, undefined, { signal });
      else await yieldToIo();
    } catch {
      break; // aborted by a signal
    }
  }

  if (signal.aborted && status === 'completed') {
    status = 'stopped';
    const stopReason = String(signal.reason);
    sender.emit({
      type: 'run.stopped',
      level: 'warn',
      payload: { message: `Stopped by ${stopReason}`, reason: stopReason, step: stepsDone },
    });
  } else if (status === 'completed') {
    sender.emit({
      type: 'run.completed',
      payload: {
        message: 'Agent run completed successfully',
        totalSteps: steps,
        duration: Math.round(performance.now() - startedAt),
      },
    });
  }
  // Success is reported only after every event is acknowledged.
  await sender.flush();
  const result: SimulatedRunResult = {
    runId,
    status,
    stepsDone,
    events: sender.stats.sent,
    durationMs: Math.round(performance.now() - startedAt),
    ackLatenciesMs: sender.stats.ackLatenciesMs,
  };
  if (errorMessage !== undefined) result.errorMessage = errorMessage;
  if (status === 'stopped') result.stopReason = String(signal.reason);
  return result;
}
