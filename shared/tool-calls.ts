// Pairs tool.called with tool.result as docs/protocol.md says: by toolCallId, else by taskId.
// Calls with neither are paired by tool name, oldest open call first. Incremental, so a live view
// can feed it one event at a time.
import { isFailedToolResult } from './run-effects.ts';
import type { AgentEvent } from './types.ts';

export interface ToolCall {
  key: string;
  toolName: string;
  called?: AgentEvent;
  result?: AgentEvent;
  startMs: number;
  /** Set once the result arrived. */
  endMs?: number;
  /** From the result's `duration` when given, else the difference of the two timestamps. */
  durationMs?: number;
  failed: boolean;
}

/** What pairs a tool.called with its tool.result: the toolCallId, else the taskId, else the name. */
export function toolCallKey(event: AgentEvent): string {
  const { toolCallId, toolName } = event.payload;
  if (typeof toolCallId === 'string' && toolCallId !== '') return `id:${toolCallId}`;
  if (event.taskId) return `task:${event.taskId}`;
  return `name:${typeof toolName === 'string' ? toolName : ''}`;
}

export class ToolCallPairer {
  readonly calls: ToolCall[] = [];
  /** Open calls per key, oldest first. */
  #open = new Map<string, ToolCall[]>();

  /** Feeds one event in seq order; returns the call it started or finished, if any. */
  add(event: AgentEvent): ToolCall | undefined {
    if (event.type !== 'tool.called' && event.type !== 'tool.result') return undefined;
    const key = toolCallKey(event);
    const name = typeof event.payload.toolName === 'string' ? event.payload.toolName : '(tool)';
    const ms = Date.parse(event.ts);
    if (event.type === 'tool.called') {
      const call: ToolCall = { key, toolName: name, called: event, startMs: ms, failed: false };
      this.calls.push(call);
      const queue = this.#open.get(key);
      if (queue) queue.push(call);
      else this.#open.set(key, [call]);
      return call;
    }
    const queue = this.#open.get(key);
    let call = queue?.shift();
    if (queue?.length === 0) this.#open.delete(key);
    const given = event.payload.duration;
    const duration = typeof given === 'number' && given >= 0 ? given : undefined;
    if (!call) {
      // A result whose call we never saw (it was before the loaded range): start it from its duration.
      call = { key, toolName: name, startMs: ms - (duration ?? 0), failed: false };
      this.calls.push(call);
    }
    call.result = event;
    call.endMs = ms;
    call.durationMs = duration ?? Math.max(0, ms - call.startMs);
    call.failed = isFailedToolResult(event);
    return call;
  }
}

export function pairToolCalls(events: Iterable<AgentEvent>): ToolCall[] {
  const pairer = new ToolCallPairer();
  for (const event of events) pairer.add(event);
  return pairer.calls;
}
