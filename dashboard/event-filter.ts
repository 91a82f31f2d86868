// Which events the timeline shows: type families, levels and text. The same filter becomes the
// server's query (so it covers the whole run) and a predicate for events that arrive live.
import type { AgentEvent, Level } from '../shared/types.ts';

export const FAMILIES = ['run', 'task', 'tool', 'metric', 'agent', 'usage', 'other'] as const;
export type Family = (typeof FAMILIES)[number];

const PREFIXED: readonly Family[] = ['run', 'task', 'tool', 'agent', 'usage'];

/** The colour family of an event type (docs/protocol.md, Events); level error is coloured apart from this. */
export function familyOf(type: string): Family {
  if (type === 'metric' || type.startsWith('metric.')) return 'metric';
  const head = type.split('.', 1)[0] as Family;
  return PREFIXED.includes(head) && type.includes('.') ? head : 'other';
}

export interface EventFilter {
  families: Set<Family>;
  levels: Set<Level>;
  text: string;
}

export function emptyFilter(): EventFilter {
  return { families: new Set(), levels: new Set(), text: '' };
}

export function isFiltering(filter: EventFilter): boolean {
  return filter.families.size > 0 || filter.levels.size > 0 || filter.text.trim() !== '';
}

/**
 * The server's query for this filter, or undefined when it cannot be said in one query ("other"
 * has no type pattern, so it is matched here over pages of every type instead).
 */
export function filterQuery(filter: EventFilter): URLSearchParams {
  const params = new URLSearchParams();
  if (filter.families.size > 0 && !filter.families.has('other')) {
    const types: string[] = [];
    for (const family of filter.families) {
      if (family === 'metric') types.push('metric', 'metric.*');
      else types.push(`${family}.*`);
    }
    params.set('type', types.join(','));
  }
  if (filter.levels.size > 0) params.set('level', [...filter.levels].join(','));
  const text = filter.text.trim();
  if (text) params.set('q', text);
  return params;
}

export function matchesFilter(event: AgentEvent, filter: EventFilter): boolean {
  if (filter.families.size > 0 && !filter.families.has(familyOf(event.type))) return false;
  if (filter.levels.size > 0 && !filter.levels.has(event.level)) return false;
  const text = filter.text.trim().toLowerCase();
  return !text || JSON.stringify(event).toLowerCase().includes(text);
}
