// Process output as the protocol carries it: `agent.stdout` / `agent.stderr` events
// `{line, text, partial?, merged?}`. An event may hold many lines (a chatty process's lines merged
// into one event, joined by newlines, `line` being the first one's number), so a reader expands it
// back into the lines the process printed, each with its own number.
import type { AgentEvent } from './types.ts';

export const STDOUT_EVENT_TYPE = 'agent.stdout';
export const STDERR_EVENT_TYPE = 'agent.stderr';
export const OUTPUT_EVENT_TYPES = [STDOUT_EVENT_TYPE, STDERR_EVENT_TYPE] as const;
export type OutputStreamName = 'stdout' | 'stderr';

export interface OutputLine {
  stream: OutputStreamName;
  /** The line number the process printed it at (1-based, per stream). */
  line: number;
  text: string;
  /** The event that carried it. */
  seq: number;
  /** A long line cut in pieces (`partial: true`): the next piece of this stream goes on it. */
  continues?: boolean;
}

export function isOutputEvent(event: Pick<AgentEvent, 'type'>): boolean {
  return (OUTPUT_EVENT_TYPES as readonly string[]).includes(event.type);
}

/** The lines one output event holds, numbered as the process printed them. */
export function outputLinesOf(event: AgentEvent): OutputLine[] {
  if (!isOutputEvent(event)) return [];
  const stream: OutputStreamName = event.type === STDERR_EVENT_TYPE ? 'stderr' : 'stdout';
  const { line, text } = event.payload;
  const first = typeof line === 'number' && Number.isInteger(line) && line > 0 ? line : 1;
  const body = typeof text === 'string' ? text : text === undefined ? '' : JSON.stringify(text);
  const lines: OutputLine[] = body
    .split('\n')
    .map((part, index) => ({ stream, line: first + index, text: part, seq: event.seq }));
  if (event.payload.partial === true) lines[lines.length - 1]!.continues = true;
  return lines;
}

/** How many lines an output event holds (more than one once lines were merged). */
export function outputLineCount(event: Pick<AgentEvent, 'payload'>): number {
  const { text } = event.payload;
  if (typeof text !== 'string') return 1;
  let count = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
