// Timings and their summaries. Workers put latencies into histograms of HIST_BUCKET_MS buckets and
// send them as [bucket, count] pairs; the bench merges them and reads percentiles off the merge,
// so no worker ships every sample.
import { performance } from 'node:perf_hooks';

/** Latency histograms everywhere in the bench use 10 µs buckets. */
export const HIST_BUCKET_MS = 0.01;

/** Wall-clock milliseconds with sub-millisecond precision; comparable across processes. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export function addToHistogram(histogram: Map<number, number>, ms: number): void {
  const bucket = Math.max(0, Math.round(ms / HIST_BUCKET_MS));
  histogram.set(bucket, (histogram.get(bucket) ?? 0) + 1);
}

export interface Latency {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Merges workers' histograms and reads the percentiles off the merge. */
export function latencyOf(histograms: [number, number][][]): Latency {
  const merged = new Map<number, number>();
  for (const histogram of histograms) {
    for (const [bucket, count] of histogram) merged.set(bucket, (merged.get(bucket) ?? 0) + count);
  }
  const buckets = [...merged].sort((a, b) => a[0] - b[0]);
  const count = buckets.reduce((sum, [, n]) => sum + n, 0);
  const at = (q: number) => {
    let seen = 0;
    for (const [bucket, n] of buckets) {
      seen += n;
      if (seen >= q * count) return bucket * HIST_BUCKET_MS;
    }
    return NaN;
  };
  return { count, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
