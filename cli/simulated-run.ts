// One full lifecycle of the simulated agent (the original runner): create the run, announce it,
// stream its steps, end it completed, in error at --failAt, or stopped by a signal. While it runs
// it holds the run's control channel: a pause holds the next step until resumed, a stop ends it.
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import { APPROVAL_REQUESTED } from '../shared/approvals.ts';
import { createRandom } from '../shared/random.ts';
import type { EventInput, Run } from '../shared/types.ts';
import { ControlChannel, stoppedOnRequest } from './control-channel.ts';
import { EventSender, refused } from './event-sender.ts';
import { FIRST_CONTACT_RETRY_MS, type HttpClient } from './http-client.ts';
import type { StopSignal } from './interrupt-signal.ts';
import { agentSpanEnd, agentSpanStart, simulatedStep } from './simulated-step.ts';
import { StepBoundary } from './step-boundary.ts';

export interface SimulatedRunOptions {
  client: HttpClient;
  runId: string;
  title: string;
  steps: number;
  intervalMs: number;
  failAt: number | undefined;
  /** Ask for approval before this step; a denial fails the run there. */
  approveAt?: number | undefined;
  seed: number;
  /** Aborted with the signal's name (`SIGINT`, `SIGTERM`) to stop the run. */
  signal: AbortSignal;
  /** Awaited before each step: the place where pause / stop control can hold or end the loop. */
  beforeStep?: (step: number) => Promise<void>;
  onCreated?: (run: Run) => void;
  onStep?: (step: number, events: readonly EventInput[]) => void;
  /** Told of a pause or resume request carried out, and of a lost control channel. */
  onControl?: (what: string) => void;
}

export type SimulatedRunStatus = 'completed' | 'error' | 'stopped';

export interface SimulatedRunResult {
  runId: string;
  status: SimulatedRunStatus;
  errorMessage?: string;
  /** The signal that stopped the run, or the reason given with a stop request. */
  stopReason?: string;
  /** Set when a signal stopped the run; a stop without it came from the dashboard or the API. */
  stopSignal?: StopSignal;
  stepsDone: number;
  events: number;
  durationMs: number;
  ackLatenciesMs: number[];
}

export async function createRun(client: HttpClient, body: object): Promise<Run> {
  const response = await client.request<Run>('POST', '/api/runs', body, {
    // Creating the run is the first contact: a server that is simply not there fails fast.
    retryForMs: Math.min(FIRST_CONTACT_RETRY_MS, client.retryForMs),
  });
  if (response.status !== 200 && response.status !== 201)
    throw refused('POST /api/runs', response, true);
  return response.body;
}

export async function simulateRun(options: SimulatedRunOptions): Promise<SimulatedRunResult> {
  const { client, runId, steps, intervalMs, failAt, seed, signal } = options;
  const startedAt = performance.now();
  const run = await createRun(client, { id: runId, title: options.title });
  options.onCreated?.(run);

  const sender = new EventSender(client, runId);
  const config: Record<string, number> = { steps, interval: intervalMs, seed };
  if (failAt !== undefined) config.failAt = failAt;
  if (options.approveAt !== undefined) config.approveAt = options.approveAt;
  sender.emit({ type: 'run.started', payload: { message: 'Agent run initialized', config } });
  sender.emit(agentSpanStart(options.title));
  sender.patch({
    metadata: {
      estimatedCost: 0.05,
      tags: ['test', 'automated'],
      totalSteps: steps,
      environment: 'cli',
      seed,
    },
  });

  // A stop request ends the loop the way a signal does; `stopped` tells the two apart.
  const stopped = new AbortController();
  const boundary = new StepBoundary();
  const control = simulatedControl(
    client,
    sender,
    stopped,
    boundary,
    run.lastSeq,
    options.onControl,
  );
  let outcome: StepsOutcome;
  try {
    const stopSignal = AbortSignal.any([signal, stopped.signal]);
    outcome = await runSteps(options, sender, control, boundary, stopSignal);
  } finally {
    // No request is carried out once the run's last event is on its way.
    await control.close();
  }
  const { stepsDone, errorMessage } = outcome;
  let status: SimulatedRunStatus = errorMessage === undefined ? 'completed' : 'error';
  if (status !== 'error') sender.emit(agentSpanEnd('ok'));
  let stopReason: string | undefined;
  if (status === 'completed' && (signal.aborted || stopped.signal.aborted)) {
    status = 'stopped';
    stopReason = signal.aborted
      ? String(signal.reason)
      : (control.stopRequest?.reason ?? 'stop requested');
    sender.emit(
      signal.aborted
        ? {
            type: 'run.stopped',
            level: 'warn',
            payload: { message: `Stopped by ${stopReason}`, reason: stopReason, step: stepsDone },
          }
        : stoppedOnRequest(control.stopRequest?.reason, { step: stepsDone }),
    );
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
  if (stopReason !== undefined) result.stopReason = stopReason;
  if (status === 'stopped' && signal.aborted) result.stopSignal = signal.reason as StopSignal;
  return result;
}

/** The runner's answers to pause / resume / stop: wait between steps, go on, end the loop. */
function simulatedControl(
  client: HttpClient,
  sender: EventSender,
  stopped: AbortController,
  boundary: StepBoundary,
  afterSeq: number,
  onControl: ((what: string) => void) | undefined,
): ControlChannel {
  return new ControlChannel({
    client,
    sender,
    handlers: {
      pause: async () => {
        await boundary.reached();
        onControl?.('paused on request; waiting for resume before the next step');
        return true;
      },
      resume: () => {
        onControl?.('resumed on request');
        return true;
      },
      stop: (reason) => {
        onControl?.(`stop requested${reason === undefined ? '' : `: ${reason}`}`);
        stopped.abort();
      },
      directive: ({ text }) => {
        onControl?.(`directive: ${text}`);
        return true;
      },
    },
    afterSeq,
    onLost: (error) => onControl?.(`control channel lost: ${error.message}`),
  });
}

interface StepsOutcome {
  stepsDone: number;
  /** Set when the run failed at --failAt or was denied at --approveAt. */
  errorMessage?: string;
}

/** Asks before `step` and waits; resolves with why the run must end, or undefined to go on. */
async function askToGoOn(
  step: number,
  steps: number,
  sender: EventSender,
  control: ControlChannel,
  signal: AbortSignal,
  onControl: ((what: string) => void) | undefined,
): Promise<string | undefined> {
  const approvalId = `step-${step}`;
  sender.emit({
    id: `${sender.runId}-approval-${step}`,
    type: APPROVAL_REQUESTED,
    payload: {
      approvalId,
      title: `Go on with step ${step} of ${steps}?`,
      detail: `The simulated agent waits before step ${step} until someone approves or denies.`,
      toolName: 'RunCommand',
      args: { command: `make deploy STEP=${step}` },
    },
  });
  onControl?.(`waiting for approval ${approvalId} (agent-ops approve ${sender.runId})`);
  const decision = await control.decision(approvalId, signal);
  if (signal.aborted) return undefined;
  if (decision === undefined) return `No decision on step ${step}: the control channel was lost`;
  const note = decision.note === undefined ? '' : `: ${decision.note}`;
  onControl?.(`${decision.decision === 'approve' ? 'approved' : 'denied'}${note}`);
  return decision.decision === 'approve' ? undefined : `Denied at step ${step}${note}`;
}

/** The steps, until the last one, --failAt, a signal or a stop request (`stopSignal`). */
async function runSteps(
  options: SimulatedRunOptions,
  sender: EventSender,
  control: ControlChannel,
  boundary: StepBoundary,
  stopSignal: AbortSignal,
): Promise<StepsOutcome> {
  const { steps, intervalMs, failAt, seed, signal } = options;
  const random = createRandom(seed);
  let stepsDone = 0;
  for (let step = 1; step <= steps; step++) {
    if (sender.error) throw sender.error;
    await control.untilResumed(signal);
    if (stopSignal.aborted) break;
    await options.beforeStep?.(step);
    if (step === options.approveAt) {
      const denial = await askToGoOn(step, steps, sender, control, stopSignal, options.onControl);
      if (stopSignal.aborted) break;
      if (denial !== undefined) {
        sender.emit({ type: 'run.error', level: 'error', payload: { message: denial, step } });
        sender.patch({ status: 'error', errorMessage: denial });
        return { stepsDone, errorMessage: denial };
      }
    }
    if (step === failAt) {
      const errorMessage = `Simulated failure at step ${step}`;
      const stack = new Error(errorMessage).stack ?? `Error: ${errorMessage}`;
      sender.emit(agentSpanEnd('error'));
      sender.emit({ type: 'run.error', level: 'error', payload: { message: errorMessage, stack } });
      sender.patch({ status: 'error', errorMessage });
      return { stepsDone, errorMessage };
    }
    const plan = simulatedStep(step, steps, random);
    boundary.begin();
    const events = [...plan.opening];
    for (const event of plan.opening) sender.emit(event);
    // The step's call lasts part of its interval, so its span fits inside the step and the run.
    const workStartedAt = performance.now();
    let aborted = false;
    if (plan.workFraction > 0 && intervalMs > 0)
      aborted = !(await pause(Math.round(intervalMs * plan.workFraction), stopSignal));
    for (const event of plan.closing(performance.now() - workStartedAt)) {
      events.push(event);
      sender.emit(event);
    }
    // The step's span lasts its whole interval, so the steps tile the run.
    const rest = intervalMs - (performance.now() - workStartedAt);
    if (!aborted && step < steps && rest > 0) aborted = !(await pause(rest, stopSignal));
    events.push(plan.end);
    sender.emit(plan.end);
    boundary.end();
    stepsDone = step;
    options.onStep?.(step, events);
    if (step === steps || aborted) break;
    // Between steps, let the sender's I/O and a control request waiting for this boundary run.
    await yieldToIo();
  }
  return { stepsDone };
}

/** Sleeps `ms`; false when the signal ended the sleep early. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
