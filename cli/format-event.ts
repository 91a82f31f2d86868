// One event as one terminal line: seq, time, level, type, agent, then the same one-line summary the
// dashboard's timeline shows (the task id, often a UUID, is left to --json, as the timeline does).
import { summarize } from '../shared/event-summary.ts';
import type { AgentEvent } from '../shared/types.ts';
import type { Output, Style } from './output.ts';

const LEVEL_STYLE: Record<string, Style | undefined> = {
  debug: 'dim',
  warn: 'yellow',
  error: 'red',
};

/** Control characters (newlines, ANSI escapes) in event text would break the line or the terminal. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

function visible(text: string): string {
  return text.replace(CONTROL_CHARS, (char) =>
    char === '\n'
      ? '⏎'
      : char === '\t'
        ? ' '
        : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export function formatEvent(event: AgentEvent, output: Output): string {
  const time = event.ts.length >= 23 ? event.ts.slice(11, 23) : event.ts;
  const level = event.level.padEnd(5);
  const style = LEVEL_STYLE[event.level];
  return [
    output.paint('dim', `#${event.seq}`.padStart(6)),
    output.paint('dim', time),
    style ? output.paint(style, level) : level,
    output.paint('bold', event.type.padEnd(14)),
    event.agentId ? output.paint('dim', visible(event.agentId)) : '',
    visible(summarize(event)),
  ]
    .filter(Boolean)
    .join('  ');
}
