// What a run is doing now, derived from its events as they arrive: where it is (step / total /
// progress), the newest meaningful message, and the tool calls still open. The run header feeds it
// the run's whole stream; the runs list feeds it the newest events of each live run. Both draw it
// with describeActivity(), so the two always say the same thing.
import { OUTPUT_EVENT_TYPES, outputLinesOf } from '../shared/output-lines.ts';
import { progressOf, totalStepsOf, type RunProgress } from '../shared/run-progress.ts';
import { toolCallKey } from '../shared/tool-calls.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { summarize } from '../shared/event-summary.ts';
import { formatAgo, formatCount, formatDuration } from './format.ts';
import { isTerminalRun, runDurationMs } from './run-status.ts';

/** Families whose newest event is "what the agent says it is doing". */
const MESSAGE_PREFIXES = ['task.', 'tool.', 'agent.', 'run.'];

interface OpenCall {
  toolName: string;
  startMs: number;
}

export class RunActivity {
  progress: RunProgress = {};
  message: string | undefined;
  /** The newest seq fed in. */
  lastSeq = 0;
  /** Open tool calls by pairing key, oldest first within a key. */
  #open = new Map<string, OpenCall[]>();

  add(event: AgentEvent): void {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    const progress = progressOf(event);
    if (progress) {
      // A step without a total keeps the total seen before (events rarely repeat it).
      this.progress = { ...this.progress, ...progress };
      if (progress.fraction === undefined && progress.step !== undefined)
        delete this.progress.fraction;
    }
    if (event.type === 'tool.called' || event.type === 'tool.result') this.#pair(event);
    if (MESSAGE_PREFIXES.some((prefix) => event.type.startsWith(prefix))) {
      const text = (OUTPUT_EVENT_TYPES as readonly string[]).includes(event.type)
        ? outputLinesOf(event).at(-1)?.text
        : summarize(event);
      if (text) this.message = text;
    }
  }

  #pair(event: AgentEvent): void {
    const key = toolCallKey(event);
    const queue = this.#open.get(key) ?? [];
    if (event.type === 'tool.called') {
      const name = event.payload.toolName;
      queue.push({
        toolName: typeof name === 'string' ? name : '(tool)',
        startMs: Date.parse(event.ts),
      });
      this.#open.set(key, queue);
    } else {
      queue.shift();
      if (queue.length === 0) this.#open.delete(key);
    }
  }

  /** The call open the longest, and how many are open. */
  openCall(): { call: OpenCall; count: number } | undefined {
    let oldest: OpenCall | undefined;
    let count = 0;
    for (const queue of this.#open.values()) {
      for (const call of queue) {
        count++;
        if (!oldest || call.startMs < oldest.startMs) oldest = call;
      }
    }
    return oldest ? { call: oldest, count } : undefined;
  }
}

export interface ActivityView {
  live: boolean;
  /** "Step 7 / 20", or "" when the run reports no step. */
  stepText: string;
  /** 0..1 for the progress bar, when known. */
  fraction: number | undefined;
  /** What it is doing now (live) or how it ended. */
  text: string;
  /** The open tool call, "search_web · 3.2 s", while one is open. */
  running: string;
  /** Time since the start while live; the whole duration once ended. */
  elapsed: string;
}

function outcomeOf(run: Run): string {
  switch (run.status) {
    case 'completed':
      return 'Completed';
    case 'error':
      return run.errorMessage ? `Failed: ${run.errorMessage.split('\n', 1)[0]}` : 'Failed';
    case 'stopped':
      return 'Stopped';
    default:
      return '';
  }
}

export function describeActivity(run: Run, activity: RunActivity, now: number): ActivityView {
  const live = !isTerminalRun(run);
  const total = activity.progress.total ?? totalStepsOf(run.metadata);
  const { step } = activity.progress;
  const fraction =
    step !== undefined && total !== undefined
      ? Math.min(1, step / total)
      : activity.progress.fraction;
  const stepText =
    step !== undefined
      ? `Step ${formatCount(step)}${total !== undefined ? ` / ${formatCount(total)}` : ''}`
      : '';
  const open = live ? activity.openCall() : undefined;
  const running = open
    ? `${open.call.toolName} · ${formatDuration(Math.max(0, now - open.call.startMs))}${
        open.count > 1 ? ` (+${open.count - 1} more)` : ''
      }`
    : '';
  let text: string;
  if (!live) text = outcomeOf(run);
  else if (run.status === 'queued') text = 'Queued, waiting for a worker';
  else if (run.status === 'paused')
    text = `Paused${activity.message ? ` · ${activity.message}` : ''}`;
  else if (activity.message) text = activity.message;
  else
    text =
      run.eventCount === 0
        ? 'Started, no events yet'
        : `${formatCount(run.eventCount)} ${run.eventCount === 1 ? 'event' : 'events'}, the last ${formatAgo(run.lastEventAt, now)}`;
  return {
    live,
    stepText,
    fraction,
    text,
    running,
    elapsed: formatDuration(runDurationMs(run, now)),
  };
}
