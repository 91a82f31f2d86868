// Asks a person through the server: records approval.requested on a run, then follows the run's
// event stream (resuming after drops and restarts) until the approval is decided or the run ends.
// `ask` and the Claude Code hook wait this way; they are not the run's producer, so they never
// hold its control channel.
import {
  APPROVAL_DECIDED,
  APPROVAL_REQUESTED,
  isApprovalDecision,
  type ApprovalDecision,
} from '../shared/approvals.ts';
import { ENDING_TYPES } from '../shared/run-effects.ts';
import { runApiPath } from '../shared/run-url.ts';
import type { AgentEvent, JsonObject, Run } from '../shared/types.ts';
import { isTerminal, quote } from '../shared/validate.ts';
import { CliError } from './cli-error.ts';
import { refused } from './event-sender.ts';
import { EXIT } from './exit-codes.ts';
import { followStream } from './follow-stream.ts';
import type { HttpClient } from './http-client.ts';
import { runNotFound } from './run-not-found.ts';

export interface ApprovalRequest {
  approvalId: string;
  title: string;
  detail?: string;
  toolName?: string;
  args?: unknown;
  timeoutS?: number;
  onTimeout?: ApprovalDecision;
}

export type ApprovalOutcome =
  | { kind: 'decided'; decision: ApprovalDecision; note?: string; by: string; decidedAt: string }
  /** The run ended before anyone decided. */
  | { kind: 'closed'; status: string };

export async function requestApproval(
  client: HttpClient,
  runId: string,
  request: ApprovalRequest,
  signal: AbortSignal,
  /** Told once the request is recorded. */
  onRequested?: (event: AgentEvent) => void,
): Promise<ApprovalOutcome | undefined> {
  const path = runApiPath(runId);
  // Posting an event to an unknown run would create it: look first.
  const found = await client.request<Run>('GET', path);
  if (found.status === 404) throw runNotFound(client.baseUrl, runId);
  if (found.status !== 200) throw refused(`GET ${path}`, found);
  if (isTerminal(found.body.status))
    throw new CliError(
      EXIT.failed,
      `run ${quote(runId)} is ${found.body.status}; a finished run takes no approval`,
    );
  const payload: JsonObject = { ...request };
  // The event id makes a retried request (or a re-run ask with the same --id) record it once.
  const posted = await client.request<AgentEvent & { error?: string }>('POST', `${path}/events`, {
    id: `approval-${request.approvalId}`,
    type: APPROVAL_REQUESTED,
    payload,
  });
  if (posted.status === 409) throw new CliError(EXIT.failed, posted.body.error ?? 'conflict');
  if (posted.status !== 201 && posted.status !== 200)
    throw refused(`POST ${path}/events`, posted, true);
  onRequested?.(posted.body);

  let outcome: ApprovalOutcome | undefined;
  await followStream({
    client,
    path: `${path}/stream`,
    lastEventId: String(posted.body.seq),
    signal,
    notFound: `run ${quote(runId)} was deleted while waiting for approval ${quote(request.approvalId)}`,
    onMessage(message) {
      const event = JSON.parse(message.data) as AgentEvent;
      const { payload: data } = event;
      if (event.type === APPROVAL_DECIDED && data.approvalId === request.approvalId) {
        const decision = isApprovalDecision(data.decision) ? data.decision : 'deny';
        outcome = { kind: 'decided', decision, by: String(data.by), decidedAt: event.ts };
        if (typeof data.note === 'string') outcome.note = data.note;
        return true;
      }
      if (ENDING_TYPES.has(event.type)) {
        outcome = { kind: 'closed', status: event.type.replace(/^run\./, '') };
        return true;
      }
      return false;
    },
  });
  return outcome;
}
