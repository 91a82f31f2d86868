// The events of one step of the simulated agent, drawn from a seeded generator so that a seed
// replays the same run. Shapes follow the original CLI's traffic, plus the tool-call id and
// duration docs/protocol.md asks for, and a small trace: the run is an `agent` span, each step a
// `task` span inside it, and a step's tool call or (now and then) llm call a span inside the step
// that lasts part of the step's interval, so every span fits inside its run.
import type { Random } from '../shared/random.ts';
import { SPAN_ENDED, SPAN_STARTED, USAGE_REPORT } from '../shared/span-events.ts';
import type { EventInput } from '../shared/types.ts';

export const AGENT_ID = 'agent-runner';
/** The run's root span. */
export const AGENT_SPAN_ID = 'agent';
export const SIMULATED_MODEL = 'sim-model-1';
/** A made-up price the simulated producer reports, as a real one would report its own. */
const SIM_USD_PER_1K_TOKENS = 0.003;
/** One step in this many brings an llm call (when it has no tool call). */
const LLM_STEP_ODDS = 3;

export function stepSpanId(step: number): string {
  return `step-${step}`;
}

/** One step: what is sent at its start, how long its call lasts, and what is sent at its end. */
export interface SimulatedStep {
  opening: EventInput[];
  /** The share of the step's interval its tool or llm call lasts (0: the step has none). */
  workFraction: number;
  /** The events that end the call, given how long it took. */
  closing(elapsedMs: number): EventInput[];
  /** The end of the step's span, sent when its interval is over. */
  end: EventInput;
}

const TOOLS = [
  { toolName: 'ReadFile', args: (step: number) => ({ path: `data/file_${step}.txt` }) },
  { toolName: 'WriteFile', args: (step: number) => ({ path: `data/file_${step}.txt` }) },
  { toolName: 'SearchWeb', args: (step: number) => ({ query: `agent ops step ${step}` }) },
  { toolName: 'RunCommand', args: (step: number) => ({ command: `make check STEP=${step}` }) },
] as const;

const TASKS = [
  'fetch_data',
  'process_records',
  'validate_output',
  'store_artifacts',
  'compile_report',
  'send_notification',
] as const;

const METRICS = [
  { name: 'latencyMs', unit: 'ms', min: 50, max: 300 },
  { name: 'tokensUsed', unit: 'tokens', min: 200, max: 4000 },
  { name: 'memoryMb', unit: 'MB', min: 64, max: 512 },
] as const;

const EXTRAS = ['task', 'tool', 'metric'] as const;

export function simulatedStep(step: number, total: number, random: Random): SimulatedStep {
  const stepSpan = stepSpanId(step);
  const opening: EventInput[] = [
    {
      type: SPAN_STARTED,
      payload: {
        spanId: stepSpan,
        parentSpanId: AGENT_SPAN_ID,
        name: `step ${step}`,
        kind: 'task',
      },
    },
    {
      type: 'task.progress',
      level: 'info',
      payload: {
        step,
        total,
        message: `Processing step ${step}`,
        progress: Math.round((step / total) * 100),
      },
    },
  ];
  const endStep: EventInput = { type: SPAN_ENDED, payload: { spanId: stepSpan, status: 'ok' } };
  // The draws from `random` keep their order, so a seed still replays the same run.
  const extra = random.pick(EXTRAS);
  if (extra === 'tool') return toolCallStep(step, stepSpan, random, opening, endStep);
  opening.push(...(extra === 'task' ? agentTaskEvents(step, random) : metricEvents(step, random)));
  if (random.int(1, LLM_STEP_ODDS) !== 1)
    return { opening, workFraction: 0, closing: () => [], end: endStep };
  return llmCallStep(step, stepSpan, random, opening, endStep);
}

/** The original CLI's agent task: running, then done, under one task id. */
function agentTaskEvents(step: number, random: Random): EventInput[] {
  const taskId = random.uuid();
  const taskName = random.pick(TASKS);
  const base = { type: 'task.progress', agentId: AGENT_ID, taskId };
  return [
    { ...base, payload: { taskName, status: 'running', step } },
    { ...base, payload: { taskName, status: 'done', step, result: 'completed successfully' } },
  ];
}

function metricEvents(step: number, random: Random): EventInput[] {
  const metric = random.pick(METRICS);
  return [
    {
      type: 'metric',
      level: 'debug',
      payload: {
        name: metric.name,
        value: random.int(metric.min, metric.max),
        unit: metric.unit,
        step,
      },
    },
  ];
}

/** A step with a tool call: called at its start, its result (timed) at its end. */
function toolCallStep(
  step: number,
  stepSpan: string,
  random: Random,
  opening: EventInput[],
  endStep: EventInput,
): SimulatedStep {
  const tool = random.pick(TOOLS);
  const taskId = random.uuid();
  const toolCallId = `call_${random.uuid()}`;
  const { toolName } = tool;
  const bytes = random.int(100, 999);
  opening.push({
    type: 'tool.called',
    taskId,
    payload: { toolName, toolCallId, parentSpanId: stepSpan, args: tool.args(step) },
  });
  return {
    opening,
    workFraction: random.int(20, 80) / 100,
    closing: (elapsedMs) => [
      {
        type: 'tool.result',
        taskId,
        payload: {
          toolName,
          toolCallId,
          parentSpanId: stepSpan,
          result: `Success: processed ${bytes} bytes`,
          duration: Math.round(elapsedMs),
        },
      },
    ],
    end: endStep,
  };
}

/** A step with an llm call: a span inside the step, and its usage when it ends. */
function llmCallStep(
  step: number,
  stepSpan: string,
  random: Random,
  opening: EventInput[],
  endStep: EventInput,
): SimulatedStep {
  const llmSpan = `llm-${step}`;
  const inputTokens = random.int(200, 4000);
  const outputTokens = random.int(20, 800);
  opening.push({
    type: SPAN_STARTED,
    payload: {
      spanId: llmSpan,
      parentSpanId: stepSpan,
      name: SIMULATED_MODEL,
      kind: 'llm',
      attributes: { model: SIMULATED_MODEL },
    },
  });
  return {
    opening,
    workFraction: random.int(30, 90) / 100,
    closing: () => [
      { type: SPAN_ENDED, payload: { spanId: llmSpan, status: 'ok' } },
      {
        type: USAGE_REPORT,
        payload: {
          spanId: llmSpan,
          model: SIMULATED_MODEL,
          inputTokens,
          outputTokens,
          costUsd:
            Math.round(((inputTokens + outputTokens) / 1000) * SIM_USD_PER_1K_TOKENS * 1e6) / 1e6,
        },
      },
    ],
    end: endStep,
  };
}

/** The run's root span, started with the run and ended with it. */
export function agentSpanStart(title: string): EventInput {
  return {
    type: SPAN_STARTED,
    payload: { spanId: AGENT_SPAN_ID, name: title, kind: 'agent' },
  };
}

export function agentSpanEnd(status: 'ok' | 'error'): EventInput {
  return { type: SPAN_ENDED, payload: { spanId: AGENT_SPAN_ID, status } };
}
