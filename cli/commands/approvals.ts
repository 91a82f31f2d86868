// `agent-ops approvals`: what waits for a decision, across runs, newest first.
import type { ListedApproval } from '../../shared/approvals.ts';
import { checkRunId } from '../check-run-id.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { formatAge } from '../format-age.ts';
import { formatTable } from '../format-table.ts';
import type { Output } from '../output.ts';
import { runNotFound } from '../run-not-found.ts';
import { withClient } from '../with-client.ts';

/** Listing is a first contact: a server that is simply not there fails within this. */
const LISTING_RETRY_MS = 5_000;

/** "in 4m", "in 12s": how long until an ISO time. */
function formatLeft(iso: string | undefined, now = Date.now()): string {
  if (iso === undefined) return '-';
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  if (seconds < 60) return `in ${seconds}s`;
  if (seconds < 3600) return `in ${Math.floor(seconds / 60)}m`;
  return `in ${Math.floor(seconds / 3600)}h`;
}

export const approvalsCommand: Command = {
  name: 'approvals',
  summary: 'List the approvals waiting for a decision, across runs',
  usage: 'approvals [options]',
  options: [
    {
      name: 'run',
      flags: ['--run'],
      type: 'string',
      valueName: 'runId',
      description: "Only this run's",
    },
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: ['agent-ops approvals', 'agent-ops approvals --run "$RUN" --json'],

  run: (args) =>
    withClient(
      args,
      { command: 'approvals', maxPositionals: 0 },
      async ({ options, output, client }) => {
        const runId =
          options.run === undefined
            ? undefined
            : checkRunId(String(options.run), 'approvals', '--run');
        const path =
          runId === undefined
            ? '/api/approvals'
            : `/api/approvals?runId=${encodeURIComponent(runId)}`;
        // A listing is a first contact: a server that is not there fails fast.
        const response = await client.request<ListedApproval[]>('GET', path, undefined, {
          retryForMs: Math.min(LISTING_RETRY_MS, client.retryForMs),
        });
        if (response.status === 404 && runId !== undefined)
          throw runNotFound(client.baseUrl, runId);
        if (response.status !== 200) throw refused(`GET ${path}`, response);
        const pending = response.body;
        if (output.json) output.result(pending);
        else if (pending.length === 0) output.info('no pending approvals');
        else printTable(output, pending);
        return EXIT.ok;
      },
    ),
};

function printTable(output: Output, pending: readonly ListedApproval[]): void {
  const rows = pending.map((item) => [
    item.runId,
    item.approvalId,
    formatAge(item.requestedAt),
    item.onTimeout === undefined ? '-' : `${item.onTimeout} ${formatLeft(item.expiresAt)}`,
    item.toolName ?? '-',
    item.title,
  ]);
  const table = formatTable(['RUN', 'APPROVAL', 'ASKED', 'TIMEOUT', 'TOOL', 'TITLE'], rows);
  const [header, ...lines] = table.split('\n');
  output.info(output.paint('bold', header!));
  for (const line of lines) output.info(line);
}
