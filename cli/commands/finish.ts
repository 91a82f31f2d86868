// `agent-ops finish <runId>`: end a run completed, in error or stopped; the exit code tells the
// same story (0, 1, 4), so a CI step can end with it.
import { runApiPath, runDashboardUrl } from '../../shared/run-url.ts';
import { TERMINAL_STATUSES } from '../../shared/constants.ts';
import { ENDING_TYPE_BY_STATUS } from '../../shared/run-effects.ts';
import type { Level, Run, TerminalStatus } from '../../shared/types.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { EventSender, refused } from '../event-sender.ts';
import { exitCodeForStatus } from '../exit-codes.ts';
import { runNotFound } from '../run-not-found.ts';
import { appendGithubSummary } from '../github-summary.ts';
import type { Output } from '../output.ts';
import { withClient } from '../with-client.ts';

const EVENT_BY_STATUS = {
  completed: { level: 'info', message: 'Run completed' },
  error: { level: 'error', message: 'Run failed' },
  stopped: { level: 'warn', message: 'Run stopped' },
} as const satisfies Record<TerminalStatus, { level: Level; message: string }>;

export const finishCommand: Command = {
  name: 'finish',
  summary: 'End a run: completed, error or stopped (exit 0, 1 or 4)',
  usage: 'finish <runId> [options]',
  options: [
    {
      name: 'status',
      flags: ['--status'],
      type: 'string',
      valueName: 'status',
      choices: TERMINAL_STATUSES,
      default: 'completed',
      description: TERMINAL_STATUSES.join(' | '),
    },
    {
      name: 'message',
      flags: ['--message', '-m'],
      type: 'string',
      valueName: 'text',
      description: 'What happened (the error message for --status error)',
    },
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    'agent-ops finish "$RUN"',
    'agent-ops finish "$RUN" --status error --message "step 3 failed: tests red"',
  ],

  run: (args) =>
    withClient(args, { command: 'finish', runId: true, maxPositionals: 1 }, async (context) => {
      const { options, runId, client, output } = context;
      const status = options.status as TerminalStatus;
      const spec = EVENT_BY_STATUS[status];
      const message = options.message === undefined ? spec.message : String(options.message);
      // Posting an event would create an unknown run; a typo'd id must not end as a phantom run.
      const path = runApiPath(runId);
      const existing = await client.request('GET', path);
      if (existing.status === 404) throw runNotFound(client.baseUrl, runId);
      if (existing.status !== 200) throw refused(`GET ${path}`, existing);
      const sender = new EventSender(client, runId);
      sender.emit({
        type: ENDING_TYPE_BY_STATUS[status],
        level: spec.level,
        payload: { message, by: 'agent-ops finish' },
      });
      // The event ends a running run; the PATCH also settles one that had already ended otherwise.
      sender.patch(status === 'error' ? { status, errorMessage: message } : { status });
      await sender.flush();
      const response = await client.request<Run>('GET', path);
      if (response.status !== 200) throw refused(`GET ${path}`, response);
      return reportFinished(output, response.body, runDashboardUrl(client.baseUrl, runId));
    }),
};

/** The run's final line (or document), the GitHub step summary, and the exit code its status means. */
function reportFinished(output: Output, run: Run, url: string): number {
  if (output.json) output.result({ ...run, url });
  const line = `${run.id} ${run.status}${run.errorMessage ? `: ${run.errorMessage}` : ''} (${run.eventCount} events)`;
  const color = run.status === 'completed' ? 'green' : run.status === 'error' ? 'red' : 'yellow';
  output.info(output.paint(color, line));
  appendGithubSummary({
    runId: run.id,
    title: run.title,
    status: run.status,
    events: run.eventCount,
    ...(run.endedAt ? { durationMs: Date.parse(run.endedAt) - Date.parse(run.startedAt) } : {}),
    ...(run.errorMessage ? { errorMessage: run.errorMessage } : {}),
    url,
  });
  return exitCodeForStatus(run.status);
}
