// The trace routes of docs/protocol.md ("Spans and usage"), for the server, the CLI and the
// dashboard.
import { runApiPath } from './run-url.ts';

export const TRACE_RESOURCES = ['spans', 'summary', 'usage', 'trace-summary'] as const;
export type TraceResource = (typeof TRACE_RESOURCES)[number];

/** The route pattern the server registers for one trace resource. */
export function traceRoute(resource: TraceResource): string {
  return `/api/runs/:runId/${resource}`;
}

export function tracePath(runId: string, resource: TraceResource): string {
  return runApiPath(runId, `/${resource}`);
}

/**
 * On /spans: the run's last seq the answer covers. A live view feeds the events after it to the
 * tree it restores from the answer (SpanTree.restore), with no gap and nothing twice.
 */
export const SPANS_SEQ_HEADER = 'x-agentops-last-seq';
