// Metric points out of events (docs/protocol.md, "Conventions inside payloads"): `metric {name, value, unit?}`, and any event whose
// payload has a `metricName` and a numeric `value`. Each series keeps a bounded tail of points.
import type { AgentEvent } from '../shared/types.ts';

const MAX_POINTS_PER_SERIES = 2000;

export interface MetricPoint {
  seq: number;
  ms: number;
  value: number;
}

export interface MetricSeries {
  name: string;
  unit?: string;
  points: MetricPoint[];
}

export function metricOf(
  event: AgentEvent,
): { name: string; value: number; unit?: string } | undefined {
  const p = event.payload;
  const unit = typeof p.unit === 'string' ? p.unit : undefined;
  if (event.type === 'metric' && typeof p.name === 'string' && typeof p.value === 'number') {
    return { name: p.name, value: p.value, unit };
  }
  if (typeof p.metricName === 'string' && typeof p.value === 'number') {
    return { name: p.metricName, value: p.value, unit };
  }
  return undefined;
}

export class MetricSeriesSet {
  readonly series = new Map<string, MetricSeries>();

  /** Adds the event's point if it carries one; returns whether it did. */
  add(event: AgentEvent): boolean {
    const metric = metricOf(event);
    if (!metric || !Number.isFinite(metric.value)) return false;
    let series = this.series.get(metric.name);
    if (!series) {
      series = { name: metric.name, unit: metric.unit, points: [] };
      this.series.set(metric.name, series);
    }
    const points = series.points;
    // Pages of older events arrive after live ones; keep the series in seq order.
    const point = { seq: event.seq, ms: Date.parse(event.ts), value: metric.value };
    if (points.length === 0 || points[points.length - 1]!.seq < event.seq) points.push(point);
    else {
      let i = points.length;
      while (i > 0 && points[i - 1]!.seq > event.seq) i -= 1;
      if (points[i - 1]?.seq === event.seq) return false;
      points.splice(i, 0, point);
    }
    if (points.length > MAX_POINTS_PER_SERIES)
      points.splice(0, points.length - MAX_POINTS_PER_SERIES);
    return true;
  }
}
