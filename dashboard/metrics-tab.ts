// The Metrics tab: a small chart per metric, loaded the first time the tab is shown.
import { LazyFeed } from './lazy-feed.ts';
import { MetricCharts } from './metric-chart.ts';
import { metricOf } from './metric-series.ts';
import type { RunTabFactory } from './run-tab.ts';

export const metricsTab: RunTabFactory = (context) => {
  const charts = new MetricCharts();
  const feed = new LazyFeed(
    context.runId,
    ['type=metric', 'q=metricName'],
    (event) => metricOf(event) !== undefined,
    (events) => {
      charts.add(events);
      context.scheduleRedraw();
    },
  );
  return {
    id: 'metrics',
    element: charts.element,
    label: () => 'Metrics',
    show: () => void feed.start(context.receivedSeq() + 1),
    receive: (event) => feed.add(event),
    render: () => charts.render(),
  };
};
