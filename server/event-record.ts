// The stored line of an event: its JSON with `id` first, built by hand because it is the hottest
// code of ingest. Fields whose characters validation already restricts (type, level, ts, seq) are
// inserted as they are; everything a producer chose freely goes through JSON.stringify.
import type { AgentEvent } from '../shared/types.ts';

/**
 * `runIdJson` is JSON.stringify(event.runId), made once per batch; `idJson` is the id's JSON when
 * the caller knows it needs no escaping.
 */
export function eventRecord(
  event: AgentEvent,
  runIdJson: string,
  idJson = JSON.stringify(event.id),
): string {
  let line = `{"id":${idJson},"seq":${event.seq},"runId":${runIdJson},"ts":"${event.ts}","type":"${event.type}","level":"${event.level}"`;
  if (event.agentId !== undefined) line += `,"agentId":${JSON.stringify(event.agentId)}`;
  if (event.taskId !== undefined) line += `,"taskId":${JSON.stringify(event.taskId)}`;
  return `${line},"payload":${JSON.stringify(event.payload)}}`;
}
