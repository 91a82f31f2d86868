// The selected span in full: its times, attributes, usage, what was odd about it, and the events
// between its start and its end (a click on one opens it in the inspector).
import { summarize } from '../shared/event-summary.ts';
import type { Span } from '../shared/span-tree.ts';
import type { AgentEvent } from '../shared/types.ts';
import { totalTokens } from '../shared/usage.ts';
import { apiJson, runPath } from './api-client.ts';
import { element } from './element.ts';
import { formatAbsolute, formatCount, formatDuration, formatUsd } from './format.ts';

/** Events listed for one span; the rest are in the Events tab. */
const MAX_SPAN_EVENTS = 200;

export class TraceDetail {
  readonly element: HTMLElement;
  #runId: string;
  #title = element('h3', { class: 'trace-detail-title' });
  #fields = element('dl', { class: 'trace-detail-fields' });
  #attrs = element('pre', {
    class: 'trace-detail-attrs',
    tabindex: '0',
    'aria-label': 'Attributes',
  });
  #events = element('ol', { class: 'trace-detail-events', 'aria-label': 'Events of this span' });
  #eventsNote = element('p', { class: 'trace-detail-note' });
  #onEvent: (event: AgentEvent) => void;
  #shown: string | undefined;
  #loadedFor = '';

  constructor(runId: string, onEvent: (event: AgentEvent) => void, onClose: () => void) {
    this.#runId = runId;
    this.#onEvent = onEvent;
    const close = element('button', {
      type: 'button',
      class: 'icon-button',
      text: '×',
      'aria-label': 'Close the span details',
    });
    close.addEventListener('click', onClose);
    this.element = element(
      'section',
      { class: 'trace-detail', 'aria-label': 'Span details', hidden: true },
      element('header', { class: 'trace-detail-header' }, this.#title, close),
      this.#fields,
      this.#attrs,
      element('h4', { text: 'Events between its start and end' }),
      this.#eventsNote,
      this.#events,
    );
  }

  get spanId(): string | undefined {
    return this.#shown;
  }

  show(span: Span | undefined): void {
    this.element.hidden = span === undefined;
    this.#shown = span?.spanId;
    if (!span) return;
    this.#title.textContent = span.name;
    const fields: Array<[string, string]> = [
      ['span', span.spanId],
      ['kind', span.kind],
      ['status', span.status],
      ['start', formatAbsolute(span.start)],
    ];
    if (span.end) fields.push(['end', formatAbsolute(span.end)]);
    if (span.durationMs !== undefined) fields.push(['duration', formatDuration(span.durationMs)]);
    if (span.selfMs !== undefined) fields.push(['self time', formatDuration(span.selfMs)]);
    if (span.parentSpanId !== null) fields.push(['parent', span.parentSpanId]);
    if (span.error !== undefined) fields.push(['error', span.error]);
    const usage = span.usage;
    if (usage) {
      if (usage.model !== undefined) fields.push(['model', usage.model]);
      const tokens = totalTokens(usage);
      if (tokens !== undefined)
        fields.push([
          'tokens',
          `${formatCount(tokens)} (${formatCount(usage.inputTokens ?? 0)} in, ${formatCount(usage.outputTokens ?? 0)} out)`,
        ]);
      if (usage.cacheReadTokens !== undefined)
        fields.push(['cache read', formatCount(usage.cacheReadTokens)]);
      fields.push(['cost', usage.costUsd === undefined ? 'unknown' : formatUsd(usage.costUsd)]);
    }
    for (const note of span.notes ?? []) fields.push(['note', note]);
    this.#fields.replaceChildren(
      ...fields.map(([name, value]) =>
        element(
          'div',
          { class: `trace-field${name === 'error' || name === 'note' ? ' warn' : ''}` },
          element('dt', { text: name }),
          element('dd', { text: value, title: value }),
        ),
      ),
    );
    this.#attrs.textContent = JSON.stringify(span.attrs, null, 2);
    // A running span's events are fetched again once it has ended.
    const key = `${span.spanId}:${span.endSeq ?? 'open'}`;
    if (key !== this.#loadedFor) {
      this.#loadedFor = key;
      void this.#loadEvents(span);
    }
  }

  async #loadEvents(span: Span): Promise<void> {
    const count =
      span.endSeq === undefined
        ? MAX_SPAN_EVENTS
        : Math.min(MAX_SPAN_EVENTS, span.endSeq - span.startSeq + 1);
    this.#eventsNote.textContent = 'loading…';
    this.#events.replaceChildren();
    let events: AgentEvent[];
    try {
      events = await apiJson<AgentEvent[]>(
        runPath(this.#runId, `/events?after=${span.startSeq - 1}&limit=${count}`),
      );
    } catch (error) {
      this.#eventsNote.textContent = `could not load the events: ${(error as Error).message}`;
      return;
    }
    if (this.#shown !== span.spanId) return;
    const more = span.endSeq === undefined || span.endSeq - span.startSeq + 1 > events.length;
    this.#eventsNote.textContent = more
      ? `the first ${events.length}${span.endSeq === undefined ? ' so far' : ''}; the Events tab has them all`
      : `${events.length} events`;
    this.#events.replaceChildren(
      ...events.map((event) => {
        const item = element(
          'button',
          {
            type: 'button',
            class: `trace-event${event.level === 'error' ? ' error' : ''}`,
            'aria-label': `Event ${event.seq}, ${event.type}`,
          },
          element('span', { class: 'trace-event-seq', text: `#${event.seq}` }),
          element('span', { class: 'trace-event-type', text: event.type }),
          element('span', { class: 'trace-event-summary', text: summarize(event) }),
        );
        item.addEventListener('click', () => this.#onEvent(event));
        return element('li', {}, item);
      }),
    );
  }
}
