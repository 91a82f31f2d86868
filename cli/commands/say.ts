// `agent-ops say <runId> "<text>"`: a directive for the running agent. It is recorded on the run
// and pushed to the run's producer, which confirms it with directive.delivered.
import { MAX_DIRECTIVE_LENGTH } from '../../shared/approvals.ts';
import { runApiPath } from '../../shared/run-url.ts';
import type { AgentEvent } from '../../shared/types.ts';
import { CliError, usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { runNotFound } from '../run-not-found.ts';
import { withClient } from '../with-client.ts';
import { cliDecider } from './decide.ts';

export const sayCommand: Command = {
  name: 'say',
  summary: 'Send a directive to a running agent ("skip the flaky test")',
  usage: 'say <runId> <text> [options]',
  options: [JSON_OPTION, ...CONNECTION_OPTIONS, HELP_OPTION],
  examples: [
    'agent-ops say "$RUN" "skip the flaky test"',
    'agent-ops say "$RUN" "use the staging database" --json',
  ],
  notes: [
    "The run's producer gets it on its control channel: `exec --stdin directives` writes it as one",
    "line to the command's stdin, the simulated runner logs it; either confirms it with",
    'directive.delivered. Other producers record it only.',
  ],

  run: (args) =>
    withClient(
      args,
      { command: 'say', runId: true, maxPositionals: 2 },
      async ({ positionals, runId, output, client }) => {
        const text = positionals[1];
        if (text === undefined || text.trim() === '')
          throw usageError('missing the text: agent-ops say <runId> "<text>"', 'say');
        if (text.length > MAX_DIRECTIVE_LENGTH)
          throw usageError(
            `the text must be at most ${MAX_DIRECTIVE_LENGTH} characters; got ${text.length}`,
            'say',
          );
        const path = runApiPath(runId, '/directives');
        const response = await client.request<AgentEvent & { error?: string }>('POST', path, {
          text,
          by: cliDecider(),
        });
        if (response.status === 404) throw runNotFound(client.baseUrl, runId);
        if (response.status === 409)
          throw new CliError(EXIT.failed, response.body.error ?? 'the run takes no directive');
        if (response.status !== 202) throw refused(`POST ${path}`, response, true);
        if (output.json) output.result(response.body);
        output.info(`directive ${String(response.body.payload.directiveId)} sent to run ${runId}`);
        return EXIT.ok;
      },
    ),
};
