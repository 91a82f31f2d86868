// One small inline-SVG line chart per metric name, with its latest value and range.
import type { AgentEvent } from '../shared/types.ts';
import { element, svgElement } from './element.ts';
import { MetricSeriesSet, type MetricSeries } from './metric-series.ts';

const CHART_WIDTH = 320;
const CHART_HEIGHT = 56;
const MAX_POINTS_DRAWN = 320;

function formatNumber(value: number): string {
  return Math.abs(value) >= 1000 || Number.isInteger(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: 0 })
    : value.toLocaleString('en-US', { maximumSignificantDigits: 4 });
}

export class MetricCharts {
  readonly element: HTMLElement;
  #set = new MetricSeriesSet();
  #grid: HTMLElement;
  #summary: HTMLElement;

  constructor() {
    this.#summary = element('p', { class: 'panel-summary', role: 'status' });
    this.#grid = element('div', { class: 'metric-grid' });
    this.element = element(
      'section',
      { class: 'metrics', 'aria-label': 'Metrics' },
      this.#summary,
      this.#grid,
    );
    this.render();
  }

  add(events: AgentEvent[]): void {
    for (const event of events) this.#set.add(event);
  }

  render(): void {
    const series = [...this.#set.series.values()].sort((a, b) => a.name.localeCompare(b.name));
    this.#summary.textContent =
      series.length === 0 ? 'No metrics yet.' : `${series.length} metrics`;
    this.#grid.replaceChildren(...series.map((s) => this.#chart(s)));
  }

  #chart(series: MetricSeries): HTMLElement {
    const points = series.points;
    const stride = Math.max(1, Math.ceil(points.length / MAX_POINTS_DRAWN));
    const drawn = points.filter((_, i) => i % stride === 0 || i === points.length - 1);
    const values = points.map((p) => p.value);
    const min = Math.min(...values);
    const max = Math.max(...values);
    const first = drawn[0]!.ms;
    const last = drawn[drawn.length - 1]!.ms;
    const x = (ms: number, i: number) =>
      last > first
        ? ((ms - first) / (last - first)) * CHART_WIDTH
        : drawn.length > 1
          ? (i / (drawn.length - 1)) * CHART_WIDTH
          : CHART_WIDTH / 2;
    const y = (value: number) =>
      max > min
        ? CHART_HEIGHT - 4 - ((value - min) / (max - min)) * (CHART_HEIGHT - 8)
        : CHART_HEIGHT / 2;
    const svg = svgElement('svg', {
      viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`,
      preserveAspectRatio: 'none',
      class: 'metric-svg',
      role: 'img',
    });
    const latest = points[points.length - 1]!.value;
    const unit = series.unit ? ` ${series.unit}` : '';
    svg.setAttribute(
      'aria-label',
      `${series.name}: ${points.length} points, latest ${formatNumber(latest)}${unit}`,
    );
    svg.append(
      svgElement('polyline', {
        points: drawn.map((p, i) => `${x(p.ms, i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' '),
        class: 'metric-line',
        'vector-effect': 'non-scaling-stroke',
      }),
    );
    return element(
      'figure',
      { class: 'metric-card' },
      element(
        'figcaption',
        {},
        element('span', { class: 'metric-name', text: series.name, title: series.name }),
        element('span', { class: 'metric-latest', text: `${formatNumber(latest)}${unit}` }),
      ),
      svg,
      element('div', {
        class: 'metric-range',
        text: `min ${formatNumber(min)} · max ${formatNumber(max)} · ${points.length} points`,
      }),
    );
  }
}
