// `agent-ops approve|deny <runId> [approvalId]`: decide a pending approval. Without an id, the
// run's only pending approval; with several pending, an error lists them.
import { userInfo } from 'node:os';
import {
  validateApprovalId,
  type ApprovalDecision,
  type ListedApproval,
} from '../../shared/approvals.ts';
import { runApiPath } from '../../shared/run-url.ts';
import type { AgentEvent } from '../../shared/types.ts';
import { quote } from '../../shared/validate.ts';
import { CliError, usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import type { HttpClient } from '../http-client.ts';
import { runNotFound } from '../run-not-found.ts';
import { withClient } from '../with-client.ts';

/** Who decided, as the approval.decided event records it. */
export function cliDecider(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function decideCommand(decision: ApprovalDecision): Command {
  const verb = decision === 'approve' ? 'Approve' : 'Deny';
  return {
    name: decision,
    summary: `${verb} a pending approval (the run's only one when no id is given)`,
    usage: `${decision} <runId> [approvalId] [options]`,
    options: [
      {
        name: 'note',
        flags: ['--note'],
        type: 'string',
        valueName: 'text',
        description: 'Why; the asker sees it (Claude Code gets it as the reason)',
      },
      JSON_OPTION,
      ...CONNECTION_OPTIONS,
      HELP_OPTION,
    ],
    examples: [
      `agent-ops ${decision} "$RUN"`,
      `agent-ops ${decision} "$RUN" deploy-42 --note "${decision === 'approve' ? 'go ahead' : 'not on a Friday'}"`,
    ],
    notes: ['The first decision wins: a second one fails (exit 1) and names the first.'],
    run: (args) =>
      withClient(
        args,
        { command: decision, runId: true, maxPositionals: 2 },
        async ({ options, positionals, runId, output, client }) => {
          let approvalId: string;
          if (positionals[1] === undefined) approvalId = await onlyPending(client, runId, decision);
          else {
            try {
              approvalId = validateApprovalId(positionals[1], '[approvalId]');
            } catch (error) {
              throw usageError((error as Error).message, decision);
            }
          }
          const path = runApiPath(runId, `/approvals/${approvalId}`);
          const body: Record<string, string> = { decision, by: cliDecider() };
          if (options.note !== undefined) body.note = String(options.note);
          const response = await client.request<AgentEvent & { error?: string }>(
            'POST',
            path,
            body,
          );
          if (response.status === 404 || response.status === 409)
            throw new CliError(EXIT.failed, response.body.error ?? `cannot ${decision}`);
          if (response.status !== 200) throw refused(`POST ${path}`, response, true);
          if (output.json) output.result(response.body);
          const done = decision === 'approve' ? '✔ approved' : '✖ denied';
          const style = decision === 'approve' ? 'green' : 'red';
          output.info(`${output.paint(style, `${done} ${approvalId}`)} on run ${runId}`);
          return EXIT.ok;
        },
      ),
  };
}

async function onlyPending(client: HttpClient, runId: string, command: string): Promise<string> {
  const path = `/api/approvals?runId=${encodeURIComponent(runId)}`;
  const response = await client.request<ListedApproval[]>('GET', path);
  if (response.status === 404) throw runNotFound(client.baseUrl, runId);
  if (response.status !== 200) throw refused(`GET ${path}`, response);
  const pending = response.body;
  if (pending.length === 1) return pending[0]!.approvalId;
  if (pending.length === 0)
    throw new CliError(EXIT.failed, `run ${quote(runId)} has no pending approval`);
  const list = pending.map((item) => `  ${item.approvalId}  ${item.title}`).join('\n');
  throw usageError(
    `run ${quote(runId)} has ${pending.length} pending approvals; name one:\n${list}\n`,
    command,
  );
}

export const approveCommand = decideCommand('approve');
export const denyCommand = decideCommand('deny');
