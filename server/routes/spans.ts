// The trace of a run: its spans, our summary, and the original server's /usage and
// /trace-summary answers, all from the span index (no re-read of the run per request).
import { traceRoute, SPANS_SEQ_HEADER } from '../../shared/trace-paths.ts';
import { summarizeRun, traceSummaryAnswer, usageAnswer } from '../../shared/trace-summary.ts';
import type { AppServices } from '../app-services.ts';
import { existingRun } from '../existing-run.ts';
import { sendJson, sendJsonBytes } from '../respond.ts';
import type { Route } from '../router.ts';

export function spanRoutes({ store, spans }: AppServices): Route[] {
  const current = (rawId: string) => {
    const run = existingRun(store, rawId);
    const tree = spans.tree(run.id);
    return { run, tree, list: tree.spans(run.status) };
  };
  return [
    {
      method: 'GET',
      path: traceRoute('spans'),
      handler({ res, params }) {
        const run = existingRun(store, params.runId!);
        sendJsonBytes(res, 200, spans.spansJson(run), { [SPANS_SEQ_HEADER]: String(run.lastSeq) });
      },
    },
    {
      method: 'GET',
      path: traceRoute('summary'),
      handler({ res, params }) {
        const { run, list } = current(params.runId!);
        sendJson(res, 200, summarizeRun(run, list));
      },
    },
    {
      method: 'GET',
      path: traceRoute('usage'),
      handler({ res, params }) {
        const run = existingRun(store, params.runId!);
        sendJson(res, 200, usageAnswer(run.usage, spans.tree(run.id).usageBySpan));
      },
    },
    {
      method: 'GET',
      path: traceRoute('trace-summary'),
      handler({ res, params }) {
        sendJson(res, 200, traceSummaryAnswer(current(params.runId!).list));
      },
    },
  ];
}
