// `agent-ops approvals`: what waits for a decision, across runs, newest first.
import type { ListedApproval } from '../../shared/approvals.ts';
import { quote } from '../../shared/validate.ts';
import { checkRunId } from '../check-run-id.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION, connectionFrom } from '../common-options.ts';
import { createClient } from '../create-client.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { formatAge } from '../format-age.ts';
import { formatTable } from '../format-table.ts';
import { createOutput } from '../output.ts';
import { runNotFound } from '../run-not-found.ts';

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

  async run(args) {
    const command = 'approvals';
    const connection = connectionFrom(args, command);
    const { options } = args;
    if (args.positionals.length > 0)
      throw usageError(`unexpected argument ${quote(args.positionals[0])}`, command);
    const runId =
      options.run === undefined ? undefined : checkRunId(String(options.run), command, '--run');
    const output = createOutput({ json: options.json === true, noColor: options.noColor === true });
    const client = createClient(connection, output);
    try {
      const path =
        runId === undefined
          ? '/api/approvals'
          : `/api/approvals?runId=${encodeURIComponent(runId)}`;
      const response = await client.request<ListedApproval[]>('GET', path, undefined, {
        retryForMs: Math.min(5_000, client.retryForMs),
      });
      if (response.status === 404 && runId !== undefined) throw runNotFound(client.baseUrl, runId);
      if (response.status !== 200) throw refused(`GET ${path}`, response);
      const pending = response.body;
      if (output.json) {
        output.result(pending);
        return EXIT.ok;
      }
      if (pending.length === 0) {
        output.info('no pending approvals');
        return EXIT.ok;
      }
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
      return EXIT.ok;
    } finally {
      client.close();
    }
  },
};
