// One event as one terminal line: seq, time, level, type, then the payload as compact JSON.
import type { AgentEvent } from '../shared/types.ts';
import type { Output, Style } from './output.ts';

export const MAX_PAYLOAD_CHARS = 200;

const LEVEL_STYLE: Record<string, Style | undefined> = {
  debug: 'dim',
  warn: 'yellow',
  error: 'red',
};

export function formatEvent(event: AgentEvent, output: Output): string {
  const time = event.ts.length >= 23 ? event.ts.slice(11, 23) : event.ts;
  let payload = JSON.stringify(event.payload ?? {});
  if (payload.length > MAX_PAYLOAD_CHARS) payload = `${payload.slice(0, MAX_PAYLOAD_CHARS - 1)}…`;
  const who = [event.agentId, event.taskId].filter(Boolean).join('/');
  const level = event.level.padEnd(5);
  const style = LEVEL_STYLE[event.level];
  return [
    output.paint('dim', `#${event.seq}`.padStart(6)),
    output.paint('dim', time),
    style ? output.paint(style, level) : level,
    output.paint('bold', event.type.padEnd(14)),
    who ? output.paint('dim', who) : '',
    payload,
  ]
    .filter(Boolean)
    .join('  ');
}
