// A page of one run's events: a plain range is one read of exactly its bytes; with filters the run
// is scanned in batches from the cursor (forwards, or backwards for `before`) until the page is full.
import type { AgentEvent } from '../shared/types.ts';
import { readRecordLines, type RunIndex } from './event-files.ts';

/** Filtered reads scan this many records at a time. */
const SCAN_BATCH = 1000;

export interface EventQuery {
  after?: number;
  before?: number;
  limit: number;
  types?: string[];
  levels?: string[];
  q?: string;
}

export function queryEvents(
  index: RunIndex,
  firstSeq: number,
  lastSeq: number,
  query: EventQuery,
): AgentEvent[] {
  const filtered = query.types !== undefined || query.levels !== undefined || query.q !== undefined;
  if (!filtered) {
    let from: number;
    let to: number;
    if (query.before !== undefined) {
      to = Math.min(query.before - 1, lastSeq);
      from = Math.max(firstSeq, to - query.limit + 1);
    } else {
      from = Math.max(firstSeq, (query.after ?? 0) + 1);
      to = Math.min(lastSeq, from + query.limit - 1);
    }
    if (to < from) return [];
    return readRecordLines(index, from, to - from + 1).map(
      (line) => JSON.parse(line) as AgentEvent,
    );
  }
  const match = eventMatcher(query);
  const found: AgentEvent[] = [];
  if (query.before !== undefined) {
    let to = Math.min(query.before - 1, lastSeq);
    while (to >= firstSeq && found.length < query.limit) {
      const from = Math.max(firstSeq, to - SCAN_BATCH + 1);
      const lines = readRecordLines(index, from, to - from + 1);
      for (let i = lines.length - 1; i >= 0 && found.length < query.limit; i--) {
        const event = match(lines[i]!);
        if (event) found.push(event);
      }
      to = from - 1;
    }
    return found.reverse();
  }
  let from = Math.max(firstSeq, (query.after ?? 0) + 1);
  while (from <= lastSeq && found.length < query.limit) {
    const lines = readRecordLines(index, from, Math.min(SCAN_BATCH, lastSeq - from + 1));
    for (const line of lines) {
      const event = match(line);
      if (event) found.push(event);
      if (found.length === query.limit) break;
    }
    from += SCAN_BATCH;
  }
  return found;
}

/** Text first (cheap, on the raw line), then level and type on the parsed event. */
function eventMatcher(query: EventQuery): (line: string) => AgentEvent | undefined {
  const q = query.q?.toLowerCase();
  return (line) => {
    if (q !== undefined && !line.toLowerCase().includes(q)) return undefined;
    const event = JSON.parse(line) as AgentEvent;
    if (query.levels && !query.levels.includes(event.level)) return undefined;
    const typeMatches = (t: string) =>
      t.endsWith('*') ? event.type.startsWith(t.slice(0, -1)) : event.type === t;
    if (query.types && !query.types.some(typeMatches)) return undefined;
    return event;
  };
}
