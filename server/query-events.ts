// A page of one run's events: a plain range is one read of exactly its bytes; with filters the run
// is scanned in batches from the cursor (forwards, or backwards for `before`) until the page is full.
import type { AgentEvent } from '../shared/types.ts';
import { readRecordLines, type RecordLines, type RunIndex } from './event-files.ts';

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

/**
 * A record that keeps its shape but is not valid JSON (damaged bytes) is left out of the page and
 * passed to `onDamaged`.
 */
export function queryEvents(
  index: RunIndex,
  firstSeq: number,
  lastSeq: number,
  query: EventQuery,
  onDamaged: (seq: number) => void,
): AgentEvent[] {
  const parse = (records: RecordLines, i: number): AgentEvent | undefined => {
    try {
      return JSON.parse(records.lines[i]!) as AgentEvent;
    } catch {
      onDamaged(records.seqs[i]!);
      return undefined;
    }
  };
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
    const records = readRecordLines(index, from, to - from + 1);
    const events: AgentEvent[] = [];
    for (let i = 0; i < records.lines.length; i++) {
      const event = parse(records, i);
      if (event) events.push(event);
    }
    return events;
  }
  const match = eventMatcher(query, parse);
  const found: AgentEvent[] = [];
  if (query.before !== undefined) {
    let to = Math.min(query.before - 1, lastSeq);
    while (to >= firstSeq && found.length < query.limit) {
      const from = Math.max(firstSeq, to - SCAN_BATCH + 1);
      const records = readRecordLines(index, from, to - from + 1);
      for (let i = records.lines.length - 1; i >= 0 && found.length < query.limit; i--) {
        const event = match(records, i);
        if (event) found.push(event);
      }
      to = from - 1;
    }
    return found.reverse();
  }
  let from = Math.max(firstSeq, (query.after ?? 0) + 1);
  while (from <= lastSeq && found.length < query.limit) {
    const records = readRecordLines(index, from, Math.min(SCAN_BATCH, lastSeq - from + 1));
    for (let i = 0; i < records.lines.length; i++) {
      const event = match(records, i);
      if (event) found.push(event);
      if (found.length === query.limit) break;
    }
    from += SCAN_BATCH;
  }
  return found;
}

/** Text first (cheap, on the raw line), then level and type on the parsed event. */
function eventMatcher(
  query: EventQuery,
  parse: (records: RecordLines, i: number) => AgentEvent | undefined,
): (records: RecordLines, i: number) => AgentEvent | undefined {
  const q = query.q?.toLowerCase();
  return (records, i) => {
    if (q !== undefined && !records.lines[i]!.toLowerCase().includes(q)) return undefined;
    const event = parse(records, i);
    if (!event) return undefined;
    if (query.levels && !query.levels.includes(event.level)) return undefined;
    const typeMatches = (t: string) =>
      t.endsWith('*') ? event.type.startsWith(t.slice(0, -1)) : event.type === t;
    if (query.types && !query.types.some(typeMatches)) return undefined;
    return event;
  };
}
