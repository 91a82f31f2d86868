// `agent-ops workers`: who is online, the tasks each offers, and what each is running.
import type { WorkerInfo } from '../../shared/types.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { formatAge } from '../format-age.ts';
import { formatTable } from '../format-table.ts';
import { withClient } from '../with-client.ts';

export const workersCommand: Command = {
  name: 'workers',
  summary: 'List workers: state, tasks, what each is running',
  usage: 'workers [options]',
  options: [JSON_OPTION, ...CONNECTION_OPTIONS, HELP_OPTION],
  examples: ['agent-ops workers', 'agent-ops workers --json'],

  run: (args) =>
    withClient(args, { command: 'workers', maxPositionals: 0 }, async ({ client, output }) => {
      const response = await client.request<WorkerInfo[]>('GET', '/api/workers', undefined, {
        retryForMs: Math.min(5_000, client.retryForMs),
      });
      if (response.status !== 200 || !Array.isArray(response.body))
        throw refused('GET /api/workers', response);
      const workers = response.body;
      if (output.json) {
        output.result(workers);
        return EXIT.ok;
      }
      if (workers.length === 0) {
        output.info('no workers (start one: agent-ops worker --simulate)');
        return EXIT.ok;
      }
      const rows = workers.map((worker) => [
        worker.name,
        worker.state,
        `${worker.running.length}/${worker.concurrency}`,
        worker.tasks.map((task) => task.name).join(','),
        formatAge(worker.state === 'gone' ? worker.lastSeenAt : worker.startedAt),
        worker.running.join(' ') || '-',
      ]);
      output.info(formatTable(['NAME', 'STATE', 'RUNNING', 'TASKS', 'SINCE', 'RUNS'], rows));
      return EXIT.ok;
    }),
};
