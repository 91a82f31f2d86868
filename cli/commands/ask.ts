// `agent-ops ask <runId> "<question>"`: the CI gate. Records an approval request on the run and
// waits until a person decides (dashboard, `agent-ops approve|deny`, the API) or the timeout
// does: exit 0 approved, 1 denied.
import { randomBytes } from 'node:crypto';
import {
  MAX_APPROVAL_DETAIL_LENGTH,
  validateApprovalId,
  type ApprovalDecision,
} from '../../shared/approvals.ts';
import { MAX_TITLE_LENGTH } from '../../shared/constants.ts';
import { runApiPath, runDashboardUrl } from '../../shared/run-url.ts';
import { quote } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { EXIT } from '../exit-codes.ts';
import { listenForInterrupt, SIGNAL_EXIT_CODES, type StopSignal } from '../interrupt-signal.ts';
import type { ParsedArgs } from '../parse-args.ts';
import { parseJsonOption } from '../parse-json-option.ts';
import { requestApproval, type ApprovalRequest } from '../request-approval.ts';
import { APPROVAL_TIMEOUT_OPTIONS, timeoutSeconds } from '../timeout-option.ts';
import { withClient } from '../with-client.ts';

/** How long an interrupted ask tries to withdraw its request before it exits anyway. */
const WITHDRAW_RETRY_MS = 2_000;

export const askCommand: Command = {
  name: 'ask',
  summary: 'Ask for approval on a run and wait: exit 0 approved, 1 denied (a CI gate)',
  usage: 'ask <runId> <question> [options]',
  options: [
    {
      name: 'detail',
      flags: ['--detail'],
      type: 'string',
      valueName: 'text',
      description: 'What the person should know before deciding',
    },
    ...APPROVAL_TIMEOUT_OPTIONS,
    {
      name: 'id',
      flags: ['--id'],
      type: 'string',
      valueName: 'approvalId',
      description: 'Approval id (default ask-<random>); the same id asks once, even when re-run',
    },
    {
      name: 'tool',
      flags: ['--tool'],
      type: 'string',
      valueName: 'name',
      description: 'The tool the approval is for, shown on the card',
    },
    {
      name: 'args',
      flags: ['--args'],
      type: 'string',
      valueName: 'json',
      description: "The tool's arguments, a JSON object shown on the card",
    },
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    'agent-ops ask "$RUN" "Deploy to production?" --detail "v1.4.2, 3 migrations"',
    'agent-ops ask "$RUN" "Deploy?" --timeout 10m --on-timeout deny --json',
  ],
  notes: [
    'Blocks until the approval is decided in the dashboard, with `agent-ops approve|deny`, or by',
    'the server when --timeout passes. Exit 0 approved; 1 denied, or the run ended undecided (the',
    'note goes to stderr, or into the --json document); 3 server unreachable; Ctrl-C withdraws the',
    'request (denied by "ask") and exits 130.',
  ],

  run: (args) =>
    withClient(args, { command: 'ask', runId: true, maxPositionals: 2 }, async (context) => {
      const { options, positionals, runId, output, client } = context;
      const request = requestFrom(options, positionals[1]);
      const timeoutS = request.timeoutS;
      const interrupt = listenForInterrupt();
      const url = runDashboardUrl(client.baseUrl, runId);
      try {
        const outcome = await requestApproval(client, runId, request, interrupt.signal, () =>
          output.note(
            `agent-ops: waiting for a decision on ${quote(request.title)} (approval ${request.approvalId})${timeoutS === undefined ? '' : `, ${request.onTimeout} after ${timeoutS} s`}\n  ${output.paint('cyan', url)}`,
          ),
        );
        if (outcome === undefined) {
          const signal = interrupt.signal.reason as StopSignal;
          await client
            .request(
              'POST',
              runApiPath(runId, `/approvals/${request.approvalId}`),
              {
                decision: 'deny',
                by: 'ask',
                note: `withdrawn: the asker was interrupted (${signal})`,
              },
              { retryForMs: WITHDRAW_RETRY_MS },
            )
            .catch(() => undefined);
          output.note(`agent-ops: ${signal}: approval ${request.approvalId} withdrawn`);
          return SIGNAL_EXIT_CODES[signal];
        }
        if (output.json) output.result({ runId, approvalId: request.approvalId, ...outcome, url });
        if (outcome.kind === 'closed') {
          output.note(
            output.paint('red', `✖ not decided: run ${runId} ended ${outcome.status} first`),
          );
          return EXIT.failed;
        }
        const note = outcome.note === undefined ? '' : `: ${outcome.note}`;
        const approved = outcome.decision === 'approve';
        output.note(
          approved
            ? output.paint('green', `✔ approved by ${outcome.by}${note}`)
            : output.paint('red', `✖ denied by ${outcome.by}${note}`),
        );
        return approved ? EXIT.ok : EXIT.failed;
      } finally {
        interrupt.dispose();
      }
    }),
};

/** The request the options describe, checked before anything is sent. */
function requestFrom(options: ParsedArgs['options'], title: string | undefined): ApprovalRequest {
  const command = 'ask';
  if (title === undefined || title.trim() === '')
    throw usageError('missing the question: agent-ops ask <runId> "<question>"', command);
  if (title.length > MAX_TITLE_LENGTH)
    throw usageError(`the question must be at most ${MAX_TITLE_LENGTH} characters`, command);
  let approvalId = `ask-${randomBytes(6).toString('hex')}`;
  if (options.id !== undefined) {
    try {
      approvalId = validateApprovalId(String(options.id), '--id');
    } catch (error) {
      throw usageError((error as Error).message, command);
    }
  }
  const request: ApprovalRequest = { approvalId, title };
  if (options.detail !== undefined) {
    const detail = String(options.detail);
    if (detail.length > MAX_APPROVAL_DETAIL_LENGTH)
      throw usageError(
        `--detail must be at most ${MAX_APPROVAL_DETAIL_LENGTH} characters`,
        command,
      );
    request.detail = detail;
  }
  if (options.tool !== undefined) request.toolName = String(options.tool);
  if (options.args !== undefined)
    request.args = parseJsonOption(String(options.args), '--args', command);
  const timeoutS = timeoutSeconds(options.timeout);
  if (timeoutS !== undefined) {
    request.timeoutS = timeoutS;
    request.onTimeout = options.onTimeout as ApprovalDecision;
  }
  return request;
}
