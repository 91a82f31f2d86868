// `agent-ops ls`: the runs on the server, newest first, as a table (or JSON).
import { RUN_STATUSES, RUNS_MAX_LIMIT } from '../../shared/constants.ts';
import type { Run } from '../../shared/types.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { formatAge } from '../format-age.ts';
import { formatTable } from '../format-table.ts';
import { FIRST_CONTACT_RETRY_MS } from '../http-client.ts';
import type { Output, Style } from '../output.ts';
import { terminalColumns } from '../terminal-columns.ts';
import { withClient } from '../with-client.ts';

const STATUS_STYLE: Record<string, Style> = {
  running: 'cyan',
  paused: 'yellow',
  completed: 'green',
  error: 'red',
  stopped: 'yellow',
  queued: 'dim',
};

export const lsCommand: Command = {
  name: 'ls',
  summary: 'List runs, newest first',
  usage: 'ls [options]',
  options: [
    {
      name: 'status',
      flags: ['--status'],
      type: 'string',
      valueName: 'status',
      choices: RUN_STATUSES,
      description: RUN_STATUSES.join(' | '),
    },
    {
      name: 'search',
      flags: ['--search', '-s'],
      type: 'string',
      valueName: 'text',
      description: 'Only runs whose id or title contains this',
    },
    {
      name: 'limit',
      flags: ['--limit', '-n'],
      type: 'integer',
      valueName: 'n',
      min: 1,
      max: RUNS_MAX_LIMIT,
      default: 20,
      description: 'At most this many runs',
    },
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: ['agent-ops ls', 'agent-ops ls --status error --limit 5', 'agent-ops ls --json'],

  run: (args) =>
    withClient(args, { command: 'ls', maxPositionals: 0 }, async ({ options, client, output }) => {
      const query = new URLSearchParams({ limit: String(options.limit) });
      if (options.status !== undefined) query.set('status', String(options.status));
      if (options.search !== undefined) query.set('q', String(options.search));
      // A listing is a first contact: a server that is not there fails as fast as creating a run.
      const response = await client.request<Run[]>('GET', `/api/runs?${query}`, undefined, {
        retryForMs: Math.min(FIRST_CONTACT_RETRY_MS, client.retryForMs),
      });
      if (response.status !== 200 || !Array.isArray(response.body))
        throw refused(`GET /api/runs?${query}`, response);
      const runs = response.body;
      if (output.json) output.result(runs);
      else if (runs.length === 0) output.info('no runs');
      else printRuns(output, runs, terminalColumns(process.stdout));
      return EXIT.ok;
    }),
};

/** The table, as wide as the terminal (counts left out, titles cut), statuses in colour. */
function printRuns(output: Output, runs: readonly Run[], columns: number | undefined): void {
  const rows = runs.map((run) => [
    run.id,
    run.status,
    String(run.eventCount),
    String(run.toolCallCount),
    String(run.errorCount),
    formatAge(run.updatedAt),
    run.title,
  ]);
  const table = formatTable(
    ['ID', 'STATUS', 'EVENTS', 'TOOLS', 'ERRORS', 'UPDATED', 'TITLE'],
    rows,
    { maxWidth: columns, dropFirst: ['TOOLS', 'ERRORS', 'EVENTS', 'UPDATED'] },
  );
  const [header, ...lines] = table.split('\n');
  const at = header!.indexOf('STATUS');
  output.info(output.paint('bold', header!));
  lines.forEach((line, index) => {
    const status = runs[index]!.status;
    const painted = output.paint(STATUS_STYLE[status] ?? 'dim', status);
    output.info(line.slice(0, at) + painted + line.slice(at + status.length));
  });
}
