// The selected event in full: its fields (the time as the offset from the run's start beside the
// wall-clock time) and the payload as a tree, with copy for the payload, the event and every value.
// It lies over the right of the list, so opening it never moves the rows.
import type { AgentEvent, Run } from '../shared/types.ts';
import { element } from './element.ts';
import { familyOf } from './event-filter.ts';
import { formatAbsolute, formatOffset } from './format.ts';
import { jsonTree } from './json-tree.ts';

export class Inspector {
  readonly element: HTMLElement;
  #fields: HTMLElement;
  #payload: HTMLElement;
  #title: HTMLElement;
  #copyStatus: HTMLElement;
  #event: AgentEvent | undefined;

  constructor(onClose: () => void) {
    this.#title = element('h2', { class: 'inspector-title' });
    this.#fields = element('dl', { class: 'inspector-fields' });
    this.#payload = element('div', {
      class: 'inspector-payload',
      tabindex: '0',
      'aria-label': 'Payload',
    });
    this.#copyStatus = element('span', { class: 'copy-status', role: 'status' });
    const copyPayload = element('button', {
      type: 'button',
      text: 'Copy payload',
      'aria-label': 'Copy the payload as JSON',
    });
    copyPayload.addEventListener('click', () => void this.#copy(this.#event?.payload));
    const copyEvent = element('button', {
      type: 'button',
      text: 'Copy event',
      'aria-label': 'Copy the whole event as JSON',
    });
    copyEvent.addEventListener('click', () => void this.#copy(this.#event));
    const close = element('button', {
      type: 'button',
      class: 'icon-button',
      text: '×',
      'aria-label': 'Close the inspector',
      title: 'Close (Esc)',
    });
    close.addEventListener('click', onClose);
    this.element = element(
      'aside',
      { class: 'inspector', 'aria-label': 'Event inspector', hidden: true },
      element('header', { class: 'inspector-header' }, this.#title, close),
      this.#fields,
      element('div', { class: 'inspector-actions' }, copyPayload, copyEvent, this.#copyStatus),
      this.#payload,
    );
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  show(event: AgentEvent | undefined, run?: Run): void {
    this.#event = event;
    this.element.hidden = event === undefined;
    if (!event) return;
    this.#title.textContent = event.type;
    this.#title.className = `inspector-title fam-${familyOf(event.type)}`;
    const time = run
      ? `${formatOffset(event.ts, run.startedAt)} · ${formatAbsolute(event.ts)}`
      : formatAbsolute(event.ts);
    const rows: [string, string | undefined][] = [
      ['seq', String(event.seq)],
      ['time', time],
      ['level', event.level],
      ['agent', event.agentId],
      ['task', event.taskId],
      ['id', event.id],
    ];
    this.#fields.replaceChildren();
    for (const [name, value] of rows) {
      if (value === undefined) continue;
      this.#fields.append(
        element('dt', { text: name }),
        element('dd', { text: value, title: value, class: `field-${name}` }),
      );
    }
    this.#payload.replaceChildren(
      jsonTree(event.payload, 'payload', (value) => void this.#copy(value)),
    );
    this.#copyStatus.textContent = '';
  }

  async #copy(value: unknown): Promise<void> {
    if (value === undefined) return;
    // A string is copied as its text (a stack trace pastes as lines); anything else as JSON.
    const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    try {
      await navigator.clipboard.writeText(text);
      this.#copyStatus.textContent = 'Copied';
    } catch {
      // Without clipboard permission (e.g. plain http on another host) fall back to a selection copy.
      const area = element('textarea', { 'aria-hidden': 'true', class: 'offscreen' });
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      this.#copyStatus.textContent = ok ? 'Copied' : 'Copy failed: select the payload and copy it';
    }
  }
}
