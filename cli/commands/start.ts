// `agent-ops start`: create a run for a shell script or a CI job and print its id.
import { randomUUID } from 'node:crypto';
import { MAX_LEASE_S } from '../../shared/constants.ts';
import { parseDurationMs } from '../../shared/parse-duration.ts';
import { runDashboardUrl } from '../../shared/run-url.ts';
import type { Run } from '../../shared/types.ts';
import { quote } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import {
  CONNECTION_OPTIONS,
  HELP_OPTION,
  JSON_OPTION,
  METADATA_OPTION,
  connectionFrom,
} from '../common-options.ts';
import { createClient } from '../create-client.ts';
import { EXIT } from '../exit-codes.ts';
import { refused } from '../event-sender.ts';
import { newRunId } from '../new-run-id.ts';
import { createOutput } from '../output.ts';
import { createRun } from '../simulated-run.ts';
import { runIdentity } from '../run-identity.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'Create a run and print its id (for shell scripts and CI)',
  usage: 'start [options]',
  options: [
    {
      name: 'title',
      flags: ['--title'],
      type: 'string',
      valueName: 'text',
      default: 'Untitled run',
      description: 'Run title',
    },
    {
      name: 'id',
      flags: ['--id'],
      type: 'string',
      valueName: 'runId',
      description: 'Run id (default run-<epoch ms>-<random>)',
    },
    {
      name: 'lease',
      flags: ['--lease'],
      type: 'string',
      valueName: 'duration',
      description:
        'End the run as producer-lost after this long with no event (30m, 2h; each event extends it)',
    },
    METADATA_OPTION,
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    'RUN=$(agent-ops start --title "nightly build")',
    'RUN=$(agent-ops start --title deploy --lease 30m)',
    `agent-ops start --title deploy --metadata '{"commit":"abc123"}' --json`,
  ],

  async run(args) {
    const command = 'start';
    const connection = connectionFrom(args, command);
    const { options } = args;
    if (args.positionals.length > 0)
      throw usageError(`unexpected argument ${quote(args.positionals[0])}`, command);
    const identity = runIdentity(options, command, String(options.title));
    const { title, metadata } = identity;
    const id = identity.id ?? newRunId();
    let lease: number | undefined;
    if (options.lease !== undefined) {
      try {
        lease = parseDurationMs(String(options.lease), '--lease', 1000, MAX_LEASE_S * 1000) / 1000;
      } catch (error) {
        throw usageError((error as Error).message, command);
      }
    }

    const output = createOutput({ json: options.json === true, noColor: options.noColor === true });
    const client = createClient(connection, output);
    try {
      const created = await createRun(client, {
        id,
        title,
        ...(metadata ? { metadata } : {}),
        ...(lease === undefined ? {} : { lease: Math.round(lease) }),
      });
      // Announce the run the way the runner does, so every run's history starts the same way.
      const started = await client.request('POST', `/api/runs/${encodeURIComponent(id)}/events`, {
        id: randomUUID(),
        ts: new Date().toISOString(),
        type: 'run.started',
        payload: { message: 'Run started', source: 'agent-ops start' },
      });
      if (started.status !== 201 && started.status !== 200)
        throw refused('the run.started event', started);
      const current = await client.request<Run>('GET', `/api/runs/${encodeURIComponent(id)}`);
      const run = current.status === 200 ? current.body : created;
      if (output.json) output.result({ ...run, url: runDashboardUrl(client.baseUrl, id) });
      else output.info(id);
      return EXIT.ok;
    } finally {
      client.close();
    }
  },
};
