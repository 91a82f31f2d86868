// The selected event in full: its fields and the pretty-printed payload, with copy to clipboard.
import type { AgentEvent } from '../shared/types.ts';
import { element } from './element.ts';
import { familyOf } from './event-filter.ts';
import { formatAbsolute } from './format.ts';

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
    this.#payload = element('pre', {
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
    copyPayload.addEventListener('click', () => this.#copy(this.#event?.payload));
    const copyEvent = element('button', {
      type: 'button',
      text: 'Copy event',
      'aria-label': 'Copy the whole event as JSON',
    });
    copyEvent.addEventListener('click', () => this.#copy(this.#event));
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

  show(event: AgentEvent | undefined): void {
    this.#event = event;
    this.element.hidden = event === undefined;
    if (!event) return;
    this.#title.textContent = event.type;
    this.#title.className = `inspector-title fam-${familyOf(event.type)}`;
    const rows: [string, string | undefined][] = [
      ['seq', String(event.seq)],
      ['time', formatAbsolute(event.ts)],
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
        element('dd', { text: value, title: value }),
      );
    }
    this.#payload.textContent = JSON.stringify(event.payload, null, 2);
    this.#copyStatus.textContent = '';
  }

  async #copy(value: unknown): Promise<void> {
    if (value === undefined) return;
    const text = JSON.stringify(value, null, 2);
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
