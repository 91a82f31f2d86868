// Approvals: decide one (the first decision wins), and list what waits across runs.
import { validateApprovalId, validateDecision } from '../../shared/approvals.ts';
import { validateRunId } from '../../shared/validate.ts';
import type { AppServices } from '../app-services.ts';
import { existingRun } from '../existing-run.ts';
import { readJsonBody } from '../read-body.ts';
import { sendJson } from '../respond.ts';
import type { Route } from '../router.ts';

export function approvalRoutes({ store, approvals }: AppServices): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/approvals',
      handler({ res, query }) {
        const runId = query.get('runId');
        if (runId === null || runId === '') return sendJson(res, 200, approvals.list());
        sendJson(res, 200, approvals.list(existingRun(store, validateRunId(runId, 'runId')).id));
      },
    },
    {
      method: 'POST',
      path: '/api/runs/:runId/approvals/:approvalId',
      async handler({ req, res, params }) {
        const { id } = existingRun(store, params.runId!);
        const approvalId = validateApprovalId(params.approvalId, 'approval id');
        const decision = validateDecision(await readJsonBody(req));
        // Read again: the run may have changed while the body arrived.
        sendJson(res, 200, await approvals.decide(existingRun(store, id), approvalId, decision));
      },
    },
  ];
}
