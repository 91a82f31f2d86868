// One timeline row: seq, time since the run started (absolute on hover), agent, type badge coloured
// by family, level, summary. Rows are recycled by the virtual list, so this fills an existing one.
import type { AgentEvent } from '../shared/types.ts';
import { element } from './element.ts';
import { familyOf } from './event-filter.ts';
import { summarize } from '../shared/event-summary.ts';
import { formatAbsolute, formatOffset } from './format.ts';

export const ROW_HEIGHT_PX = 22;

export function createEventRow(): HTMLElement {
  return element(
    'div',
    { class: 'event-row', role: 'listitem' },
    element('span', { class: 'seq' }),
    element('span', { class: 'time' }),
    element('span', { class: 'agent' }),
    element('span', { class: 'type' }),
    element('span', { class: 'level' }),
    element('span', { class: 'summary' }),
  );
}

export function renderEventRow(
  row: HTMLElement,
  event: AgentEvent | undefined,
  placeholderSeq: number | undefined,
  runStartedAt: string,
  selected: boolean,
): void {
  const [seq, time, agent, type, level, summary] = row.children as unknown as HTMLElement[];
  row.setAttribute('aria-selected', String(selected));
  if (!event) {
    row.dataset.seq = placeholderSeq === undefined ? '' : String(placeholderSeq);
    row.className = `event-row loading${selected ? ' selected' : ''}`;
    seq!.textContent = placeholderSeq === undefined ? '' : String(placeholderSeq);
    time!.textContent = '';
    time!.removeAttribute('title');
    agent!.textContent = '';
    type!.textContent = '';
    type!.className = 'type';
    level!.textContent = '';
    level!.className = 'level';
    summary!.textContent = 'loading…';
    return;
  }
  row.dataset.seq = String(event.seq);
  row.className = `event-row${event.level === 'error' ? ' is-error' : ''}${selected ? ' selected' : ''}`;
  seq!.textContent = String(event.seq);
  time!.textContent = formatOffset(event.ts, runStartedAt);
  time!.title = formatAbsolute(event.ts);
  agent!.textContent = event.agentId ?? '';
  agent!.title = event.agentId ?? '';
  type!.textContent = event.type;
  type!.title = event.type;
  type!.className = `type fam-${familyOf(event.type)}`;
  level!.textContent = event.level;
  level!.className = `level lvl-${event.level}`;
  const text = summarize(event);
  summary!.textContent = text;
  summary!.title = text;
}
