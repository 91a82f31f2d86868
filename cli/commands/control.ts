// `agent-ops pause|resume|stop <runId>`: ask for a change of a run's state. With a producer
// attached (the runner, `exec`) the request reaches the work and the producer confirms it; the
// command waits for that confirmation (--wait). With none, the server applies it at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTROL_TARGET_STATUS } from '../../shared/control-transitions.ts';
import { runApiPath, runDashboardUrl } from '../../shared/run-url.ts';
import type { ControlAction, Run } from '../../shared/types.ts';
import { quote } from '../../shared/validate.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import type { HttpClient } from '../http-client.ts';
import type { Output } from '../output.ts';
import { runNotFound } from '../run-not-found.ts';
import { withClient } from '../with-client.ts';

/** How often the command looks whether the producer has confirmed. */
export const CONFIRM_POLL_MS = 100;
export const DEFAULT_CONFIRM_WAIT_MS = 15_000;
export const MAX_CONFIRM_WAIT_MS = 3_600_000;

const SUMMARIES = {
  pause: 'Pause a run: its runner or exec freezes the work until resumed',
  resume: 'Resume a paused run',
  stop: 'Stop a run: its runner or exec ends the work and exits 4',
} as const satisfies Record<ControlAction, string>;

function controlCommand(action: ControlAction): Command {
  return {
    name: action,
    summary: SUMMARIES[action],
    usage: `${action} <runId> [options]`,
    options: [
      {
        name: 'reason',
        flags: ['--reason'],
        type: 'string',
        valueName: 'text',
        description: 'Why; recorded with the request and its confirmation',
      },
      {
        name: 'wait',
        flags: ['--wait'],
        type: 'duration',
        unit: 's',
        valueName: 'duration',
        min: 0,
        max: MAX_CONFIRM_WAIT_MS,
        default: DEFAULT_CONFIRM_WAIT_MS,
        description:
          "Wait this long for the run's producer to confirm (0: don't wait; bare number: s)",
      },
      JSON_OPTION,
      ...CONNECTION_OPTIONS,
      HELP_OPTION,
    ],
    examples: [
      `agent-ops ${action} "$RUN"`,
      `agent-ops ${action} "$RUN" --reason "${action === 'resume' ? 'looks fine' : 'checking a result'}" --json`,
    ],
    run: (args) =>
      withClient(args, { command: action, runId: true, maxPositionals: 1 }, (context) => {
        const { options, client, output, runId } = context;
        const reason = options.reason === undefined ? undefined : String(options.reason);
        return requestControl(client, output, action, runId, reason, Number(options.wait));
      }),
  };
}

export const pauseCommand = controlCommand('pause');
export const resumeCommand = controlCommand('resume');
export const stopCommand = controlCommand('stop');

async function requestControl(
  client: HttpClient,
  output: Output,
  action: ControlAction,
  runId: string,
  reason: string | undefined,
  waitMs: number,
): Promise<number> {
  const path = runApiPath(runId);
  const response = await client.request<Run & { error?: string }>(
    'POST',
    `${path}/${action}`,
    reason === undefined ? {} : { reason },
  );
  if (response.status === 404) throw runNotFound(client.baseUrl, runId);
  // The server's words name the run's status and what the action is allowed from.
  if (response.status === 409)
    throw new CliError(EXIT.failed, response.body?.error ?? `cannot ${action} run ${quote(runId)}`);
  if (response.status !== 202) throw refused(`POST ${path}/${action}`, response, true);

  let run = response.body;
  const byServer = run.control?.pending === undefined;
  const deadline = Date.now() + waitMs;
  while (run.control?.pending === action && Date.now() < deadline) {
    await sleep(CONFIRM_POLL_MS);
    const current = await client.request<Run>('GET', path);
    if (current.status === 404) throw runNotFound(client.baseUrl, runId);
    if (current.status !== 200) throw refused(`GET ${path}`, current);
    run = current.body;
  }

  const confirmed = run.status === CONTROL_TARGET_STATUS[action];
  let how: string;
  if (byServer) how = 'applied by the server: no producer is attached';
  else if (confirmed) how = 'confirmed by its producer';
  else if (run.control?.pending === action)
    how = `requested; its producer has not confirmed yet (waited ${waitMs / 1000} s)`;
  else how = `requested; the run is ${run.status} now`;
  if (output.json) output.result({ ...run, url: runDashboardUrl(client.baseUrl, runId) });
  const style = confirmed ? (action === 'stop' ? 'yellow' : 'green') : 'dim';
  output.info(output.paint(style, `${runId} ${run.status}: ${how}`));
  return EXIT.ok;
}
