// `agent-ops start`: create a run for a shell script or a CI job and print its id.
import { randomUUID } from 'node:crypto';
import { MAX_LEASE_S } from '../../shared/constants.ts';
import { runApiPath, runDashboardUrl } from '../../shared/run-url.ts';
import type { Run } from '../../shared/types.ts';
import type { Command } from '../command.ts';
import {
  CONNECTION_OPTIONS,
  HELP_OPTION,
  JSON_OPTION,
  RUN_ID_OPTION,
  METADATA_OPTION,
} from '../common-options.ts';
import { EXIT } from '../exit-codes.ts';
import { refused } from '../event-sender.ts';
import { newRunId } from '../../shared/new-run-id.ts';
import { createRun } from '../simulated-run.ts';
import { runIdentity } from '../run-identity.ts';
import { withClient } from '../with-client.ts';

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
    RUN_ID_OPTION,
    {
      name: 'lease',
      flags: ['--lease'],
      type: 'duration',
      unit: 's',
      valueName: 'duration',
      min: 1000,
      max: MAX_LEASE_S * 1000,
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

  run: (args) =>
    withClient(args, { command: 'start', maxPositionals: 0 }, async (context) => {
      const { options, client, output } = context;
      const identity = runIdentity(options, 'start', String(options.title));
      const { title, metadata } = identity;
      const id = identity.id ?? newRunId();
      const lease = options.lease === undefined ? undefined : Number(options.lease) / 1000;
      const created = await createRun(client, {
        id,
        title,
        ...(metadata ? { metadata } : {}),
        ...(lease === undefined ? {} : { lease: Math.round(lease) }),
      });
      // Announce the run the way the runner does, so every run's history starts the same way.
      const started = await client.request('POST', runApiPath(id, '/events'), {
        id: randomUUID(),
        ts: new Date().toISOString(),
        type: 'run.started',
        payload: { message: 'Run started', source: 'agent-ops start' },
      });
      if (started.status !== 201 && started.status !== 200)
        throw refused('the run.started event', started);
      const current = await client.request<Run>('GET', runApiPath(id));
      const run = current.status === 200 ? current.body : created;
      if (output.json) output.result({ ...run, url: runDashboardUrl(client.baseUrl, id) });
      else output.info(id);
      return EXIT.ok;
    }),
};
