// `agent-ops tail <runId>`: follow one run live until it ends (exit 0 / 1 / 4 by its status), or
// with --all every run's changes until interrupted. Survives dropped connections and restarts.
import { ENDING_TYPES } from '../../shared/run-effects.ts';
import { runApiPath } from '../../shared/run-url.ts';
import { SSE_TRUNCATED_EVENT } from '../../shared/sse.ts';
import type { AgentEvent, Run, RunChange } from '../../shared/types.ts';
import { isTerminal, quote } from '../../shared/validate.ts';
import { checkRunId } from '../check-run-id.ts';
import { usageError } from '../cli-error.ts';
import { runNotFound } from '../run-not-found.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT, exitCodeForStatus } from '../exit-codes.ts';
import { followStream } from '../follow-stream.ts';
import { formatEvent } from '../format-event.ts';
import { listenForInterrupt, SIGNAL_EXIT_CODES, type StopSignal } from '../interrupt-signal.ts';
import type { Output } from '../output.ts';
import { FIRST_CONTACT_RETRY_MS, type HttpClient } from '../http-client.ts';
import { withClient } from '../with-client.ts';

export const tailCommand: Command = {
  name: 'tail',
  summary: 'Follow a run live (or every run with --all)',
  usage: 'tail (<runId> | --all) [options]',
  options: [
    {
      name: 'all',
      flags: ['--all'],
      type: 'boolean',
      description: "Follow every run's changes instead of one run's events",
    },
    {
      name: 'after',
      flags: ['--after'],
      type: 'integer',
      valueName: 'seq',
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      default: 0,
      description: 'Start after this event seq (0 replays the whole run)',
    },
    {
      name: 'json',
      flags: ['--json'],
      type: 'boolean',
      description: 'NDJSON on stdout: one stored event (or run change) per line, as stored',
    },
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    'agent-ops tail "$RUN"',
    'agent-ops tail "$RUN" --json | jq .type',
    'agent-ops tail --all',
  ],

  run: (args) =>
    withClient(args, { command: 'tail', maxPositionals: 1 }, async (context) => {
      const { options, positionals, client, output } = context;
      const all = options.all === true;
      if (all && positionals.length > 0)
        throw usageError(
          `--all follows every run; got a run id too: ${quote(positionals[0])}`,
          'tail',
        );
      const runId = all ? undefined : checkRunId(positionals[0], 'tail');
      const interrupt = listenForInterrupt();
      try {
        const code =
          runId === undefined
            ? await tailAll(client, output, interrupt.signal)
            : await tailRun(client, output, runId, Number(options.after), interrupt.signal);
        if (interrupt.signal.aborted)
          return SIGNAL_EXIT_CODES[interrupt.signal.reason as StopSignal];
        return code;
      } finally {
        interrupt.dispose();
      }
    }),
};

async function getRun(client: HttpClient, runId: string, retryForMs?: number): Promise<Run> {
  const path = runApiPath(runId);
  const response = await client.request<Run>(
    'GET',
    path,
    undefined,
    retryForMs === undefined ? {} : { retryForMs },
  );
  if (response.status === 404) throw runNotFound(client.baseUrl, runId);
  if (response.status !== 200) throw refused(`GET ${path}`, response);
  return response.body;
}

/** Follows one run to its end, printing its events; resolves with the exit code of its status. */
export async function tailRun(
  client: HttpClient,
  output: Output,
  runId: string,
  after: number,
  signal: AbortSignal,
): Promise<number> {
  const initial = await getRun(client, runId, Math.min(FIRST_CONTACT_RETRY_MS, client.retryForMs));
  let lastSeq = after;
  let ended = isTerminal(initial.status) && initial.lastSeq <= after;
  if (!ended) {
    await followStream({
      client,
      path: runApiPath(runId, '/stream'),
      ...(after > 0 ? { lastEventId: String(after) } : {}),
      signal,
      notFound: runNotFound(client.baseUrl, runId).message,
      onReconnect: (reason) =>
        output.note(
          output.paint('dim', `agent-ops: stream lost (${reason}); resuming after #${lastSeq}`),
        ),
      onMessage: (message) => {
        if (message.event === SSE_TRUNCATED_EVENT) {
          output.note(
            output.paint(
              'yellow',
              `agent-ops: events before ${message.data} were removed by retention`,
            ),
          );
          return false;
        }
        const event = JSON.parse(message.data) as AgentEvent;
        // A resumed stream never repeats, but guard anyway: each seq is shown once.
        if (event.seq <= lastSeq) return false;
        lastSeq = event.seq;
        if (output.json) output.record(event);
        else output.info(formatEvent(event, output));
        const caughtUpOnEndedRun = isTerminal(initial.status) && event.seq >= initial.lastSeq;
        return ENDING_TYPES.has(event.type) || caughtUpOnEndedRun;
      },
    });
    ended = !signal.aborted;
  }
  if (!ended) return EXIT.ok;
  const final = await getRun(client, runId);
  if (!isTerminal(final.status)) return EXIT.ok;
  output.note(
    output.paint(
      final.status === 'completed' ? 'green' : final.status === 'error' ? 'red' : 'yellow',
      `${runId} ${final.status}${final.errorMessage ? `: ${final.errorMessage}` : ''}`,
    ),
  );
  return exitCodeForStatus(final.status);
}

async function tailAll(client: HttpClient, output: Output, signal: AbortSignal): Promise<number> {
  await followStream({
    client,
    path: '/api/stream',
    signal,
    notFound: `${client.baseUrl} has no /api/stream; is it an agent-ops server?`,
    onReconnect: (reason) =>
      output.note(output.paint('dim', `agent-ops: stream lost (${reason}); reconnecting`)),
    onMessage: (message) => {
      const change = JSON.parse(message.data) as RunChange;
      if (output.json) output.record(change);
      else if (change.kind === 'deleted') output.info(`${change.id}  deleted`);
      else if (change.kind === 'worker') {
        const { worker } = change;
        output.info(`worker ${worker.name}  ${worker.state}  ${worker.running.length} running`);
      } else {
        const { run } = change;
        output.info(
          `${run.id}  ${run.status.padEnd(9)}  ${String(run.eventCount).padStart(6)} events  ${quote(run.title)}`,
        );
      }
      return false;
    },
  });
  return EXIT.ok;
}
