// Draws an ActivityView: the progress bar, "Step 7 / 20", the open tool call with its live
// duration, what the run is doing (or how it ended) and the elapsed time. The run header and each
// runs-list row hold one; only text that changed is written, since it is redrawn every second.
import type { ActivityView } from './run-activity.ts';
import { element } from './element.ts';

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
  node.hidden = text === '';
}

export class ActivityLine {
  readonly element: HTMLElement;
  #bar = element('span', { class: 'activity-bar-fill' });
  #track: HTMLElement;
  #step = element('span', { class: 'activity-step' });
  #running = element('span', { class: 'activity-running' });
  #text = element('span', { class: 'activity-text' });
  #elapsed = element('span', { class: 'activity-elapsed' });

  constructor(className = '') {
    this.#track = element(
      'span',
      { class: 'activity-bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 },
      this.#bar,
    );
    this.element = element(
      'div',
      { class: `activity ${className}`.trim() },
      this.#track,
      this.#step,
      this.#running,
      this.#text,
      this.#elapsed,
    );
  }

  update(view: ActivityView): void {
    this.element.dataset.live = String(view.live);
    this.#track.hidden = view.fraction === undefined;
    if (view.fraction !== undefined) {
      const percent = Math.round(view.fraction * 100);
      this.#bar.style.transform = `scaleX(${percent / 100})`;
      this.#track.setAttribute('aria-valuenow', String(percent));
      this.#track.setAttribute('aria-label', `${percent}% done`);
    }
    setText(this.#step, view.stepText);
    setText(this.#running, view.running);
    this.#running.title = view.running ? `Running now: ${view.running}` : '';
    setText(this.#text, view.text);
    this.#text.title = view.text;
    setText(this.#elapsed, view.elapsed);
    this.#elapsed.title = view.live ? 'Elapsed' : 'Duration';
  }
}
