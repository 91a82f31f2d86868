// Tool calls as a waterfall: one bar per call on a shared time axis, with its duration; calls still
// running reach to now, failed calls are marked. Only the newest MAX_CALLS_DRAWN are drawn.
import { ToolCallPairer, type ToolCall } from '../shared/tool-calls.ts';
import type { AgentEvent } from '../shared/types.ts';
import { element } from './element.ts';
import { formatDuration } from './format.ts';

const MAX_CALLS_DRAWN = 300;
/** Older calls are forgotten past this; the summary then counts only those held. */
const MAX_CALLS_HELD = 5000;

export class Waterfall {
  readonly element: HTMLElement;
  #pairer = new ToolCallPairer();
  #rows: HTMLElement;
  #summary: HTMLElement;
  #onSelect: (event: AgentEvent) => void;

  constructor(onSelect: (event: AgentEvent) => void) {
    this.#onSelect = onSelect;
    this.#summary = element('p', { class: 'panel-summary', role: 'status' });
    this.#rows = element('div', {
      class: 'waterfall-rows',
      role: 'list',
      'aria-label': 'Tool calls',
    });
    this.element = element(
      'section',
      { class: 'waterfall', 'aria-label': 'Tool calls' },
      this.#summary,
      this.#rows,
    );
    this.render();
  }

  add(events: AgentEvent[]): void {
    for (const event of events) this.#pairer.add(event);
    const calls = this.#pairer.calls;
    if (calls.length > MAX_CALLS_HELD) calls.splice(0, calls.length - MAX_CALLS_HELD);
  }

  get hasRunning(): boolean {
    return this.#pairer.calls.some((call) => call.endMs === undefined);
  }

  /** `ended`: the run is over and every call is loaded, so "none" is final. */
  render(now = Date.now(), ended = false): void {
    const all = this.#pairer.calls;
    const calls = all.slice(-MAX_CALLS_DRAWN);
    const failed = all.filter((call) => call.failed).length;
    const running = all.filter((call) => call.endMs === undefined).length;
    this.#summary.textContent =
      all.length === 0
        ? ended
          ? 'This run made no tool calls.'
          : 'No tool calls yet. They appear here as the run makes them.'
        : `${all.length} tool calls · ${running} running · ${failed} failed` +
          (all.length > calls.length ? ` · the newest ${calls.length} drawn` : '');
    if (calls.length === 0) {
      this.#rows.replaceChildren();
      return;
    }
    const start = Math.min(...calls.map((call) => call.startMs));
    const end = Math.max(
      start + 1,
      ...calls.map((call) =>
        call.endMs === undefined
          ? now
          : Math.max(call.endMs, call.startMs + (call.durationMs ?? 0)),
      ),
    );
    const span = end - start;
    const rows = calls.map((call) => this.#row(call, start, span, now));
    this.#rows.replaceChildren(...rows);
  }

  #row(call: ToolCall, start: number, span: number, now: number): HTMLElement {
    const running = call.endMs === undefined;
    const duration = call.durationMs ?? now - call.startMs;
    const left = ((call.startMs - start) / span) * 100;
    // A finished bar is as long as the duration it reports, so the bar and its label agree.
    const length = running ? now - call.startMs : (call.durationMs ?? call.endMs! - call.startMs);
    const width = Math.max(0.3, (length / span) * 100);
    const state = running ? 'running' : call.failed ? 'failed' : 'ok';
    const label = `${call.toolName}, ${state}, ${formatDuration(duration)}`;
    // Set through CSSOM, which the page's Content-Security-Policy allows (style attributes it does not).
    const bar = element('span', { class: 'call-bar' });
    bar.style.left = `${left.toFixed(3)}%`;
    bar.style.width = `${Math.min(100 - left, width).toFixed(3)}%`;
    const row = element(
      'button',
      {
        type: 'button',
        class: `waterfall-row ${state}`,
        role: 'listitem',
        'aria-label': label,
        title: label,
      },
      element('span', { class: 'call-name', text: call.toolName }),
      element('span', { class: 'call-track' }, bar),
      element('span', {
        class: 'call-duration',
        text: running ? `${formatDuration(duration)}…` : formatDuration(duration),
      }),
      element('span', { class: 'call-state', text: state === 'ok' ? '' : state }),
    );
    row.addEventListener('click', () => {
      const event = call.result ?? call.called;
      if (event) this.#onSelect(event);
    });
    return row;
  }
}
