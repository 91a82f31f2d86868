// The events of one step of the simulated agent, drawn from a seeded generator so that a seed
// replays the same run. Shapes follow the original CLI's traffic, plus the tool-call id and
// duration docs/protocol.md asks for.
import type { Random } from '../shared/random.ts';
import type { EventInput } from '../shared/types.ts';

export const AGENT_ID = 'agent-runner';

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

export function simulatedStepEvents(step: number, total: number, random: Random): EventInput[] {
  const events: EventInput[] = [
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
  const extra = random.pick(EXTRAS);
  if (extra === 'task') {
    const taskId = random.uuid();
    const taskName = random.pick(TASKS);
    const base = { type: 'task.progress', agentId: AGENT_ID, taskId };
    events.push(
      { ...base, payload: { taskName, status: 'running', step } },
      { ...base, payload: { taskName, status: 'done', step, result: 'completed successfully' } },
    );
  } else if (extra === 'tool') {
    const tool = random.pick(TOOLS);
    const taskId = random.uuid();
    const toolCallId = `call_${random.uuid()}`;
    const { toolName } = tool;
    events.push(
      { type: 'tool.called', taskId, payload: { toolName, toolCallId, args: tool.args(step) } },
      {
        type: 'tool.result',
        taskId,
        payload: {
          toolName,
          toolCallId,
          result: `Success: processed ${random.int(100, 999)} bytes`,
          duration: random.int(20, 300),
        },
      },
    );
  } else {
    const metric = random.pick(METRICS);
    events.push({
      type: 'metric',
      level: 'debug',
      payload: {
        name: metric.name,
        value: random.int(metric.min, metric.max),
        unit: metric.unit,
        step,
      },
    });
  }
  return events;
}
