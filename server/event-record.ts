// The stored line of an event: its JSON with `id` first, built by hand because it is the hottest
// code of ingest. Fields whose characters validation already restricts (type, level, ts, seq) are
// inserted as they are; everything a producer chose freely goes through JSON.stringify.
import type { AgentEvent } from '../shared/types.ts';

/** `runIdJson` is JSON.stringify(event.runId), made once per batch. */
export function eventRecord(event: AgentEvent, runIdJson: string): string {
  let line = `{"id":${JSON.stringify(event.id)},"seq":${event.seq},"runId":${runIdJson},"ts":"${event.ts}","type":"${event.type}","level":"${event.level}"`;
  if (event.agentId !== undefined) line += `,"agentId":${JSON.stringify(event.agentId)}`;
  if (event.taskId !== undefined) line += `,"taskId":${JSON.stringify(event.taskId)}`;
  return `${line},"payload":${JSON.stringify(event.payload)}}`;
}
