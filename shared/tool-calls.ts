// What pairs a tool.called with its tool.result, as docs/protocol.md says: by toolCallId, else by
// taskId, else by tool name (oldest open call first). The span tree and the run's activity line
// pair with it.
import type { AgentEvent } from './types.ts';

/** The pairing key of a tool.called or tool.result event. */
export function toolCallKey(event: AgentEvent): string {
  const { toolCallId, toolName } = event.payload;
  if (typeof toolCallId === 'string' && toolCallId !== '') return `id:${toolCallId}`;
  if (event.taskId) return `task:${event.taskId}`;
  return `name:${typeof toolName === 'string' ? toolName : ''}`;
}
