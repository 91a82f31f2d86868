// `agent-ops finish <runId>`: end a run completed, in error or stopped; the exit code tells the
// same story (0, 1, 4), so a CI step can end with it.
import { runDashboardUrl } from '../../shared/run-url.ts';
import type { Run } from '../../shared/types.ts';
import { quote } from '../../shared/validate.ts';
import { checkRunId } from '../check-run-id.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION, connectionFrom } from '../common-options.ts';
import { createClient } from '../create-client.ts';
import { EventSender, refused } from '../event-sender.ts';
import { exitCodeForStatus } from '../exit-codes.ts';
import { runNotFound } from '../run-not-found.ts';
import { appendGithubSummary } from '../github-summary.ts';
import { createOutput } from '../output.ts';

const FINAL_STATUSES = ['completed', 'error', 'stopped'] as const;
type FinalStatus = (typeof FINAL_STATUSES)[number];

const EVENT_BY_STATUS = {
  completed: { type: 'run.completed', level: 'info', message: 'Run completed' },
  error: { type: 'run.error', level: 'error', message: 'Run failed' },
  stopped: { type: 'run.stopped', level: 'warn', message: 'Run stopped' },
} as const satisfies Record<FinalStatus, { type: string; level: string; message: string }>;

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
      choices: FINAL_STATUSES,
      default: 'completed',
      description: FINAL_STATUSES.join(' | '),
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

  async run(args) {
    const command = 'finish';
    const connection = connectionFrom(args, command);
    const { options, positionals } = args;
    const runId = checkRunId(positionals[0], command);
    if (positionals.length > 1)
      throw usageError(`unexpected argument ${quote(positionals[1])}`, command);
    const status = options.status as FinalStatus;
    const spec = EVENT_BY_STATUS[status];
    const message = options.message === undefined ? spec.message : String(options.message);

    const output = createOutput({ json: options.json === true, noColor: options.noColor === true });
    const client = createClient(connection, output);
    try {
      // Posting an event would create an unknown run; a typo'd id must not end as a phantom run.
      const path = `/api/runs/${encodeURIComponent(runId)}`;
      const existing = await client.request('GET', path);
      if (existing.status === 404) {
        throw runNotFound(client.baseUrl, runId);
      }
      if (existing.status !== 200) throw refused(`GET ${path}`, existing);
      const sender = new EventSender(client, runId);
      sender.emit({
        type: spec.type,
        level: spec.level,
        payload: { message, by: 'agent-ops finish' },
      });
      // The event ends a running run; the PATCH also settles one that had already ended otherwise.
      sender.patch(status === 'error' ? { status, errorMessage: message } : { status });
      await sender.flush();
      const response = await client.request<Run>('GET', path);
      if (response.status !== 200) throw refused(`GET ${path}`, response);
      const run = response.body;
      const url = runDashboardUrl(client.baseUrl, runId);
      if (output.json) output.result({ ...run, url });
      const line = `${runId} ${run.status}${run.errorMessage ? `: ${run.errorMessage}` : ''} (${run.eventCount} events)`;
      const color =
        run.status === 'completed' ? 'green' : run.status === 'error' ? 'red' : 'yellow';
      output.info(output.paint(color, line));
      appendGithubSummary({
        runId,
        title: run.title,
        status: run.status,
        events: run.eventCount,
        ...(run.endedAt ? { durationMs: Date.parse(run.endedAt) - Date.parse(run.startedAt) } : {}),
        ...(run.errorMessage ? { errorMessage: run.errorMessage } : {}),
        url,
      });
      return exitCodeForStatus(run.status);
    } finally {
      client.close();
    }
  },
};
