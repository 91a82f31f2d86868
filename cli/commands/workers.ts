// `agent-ops workers`: who is online, the tasks each offers, and what each is running.
import type { WorkerInfo } from '../../shared/types.ts';
import { quote } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION, connectionFrom } from '../common-options.ts';
import { createClient } from '../create-client.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { formatAge } from '../format-age.ts';
import { formatTable } from '../format-table.ts';
import { createOutput } from '../output.ts';

export const workersCommand: Command = {
  name: 'workers',
  summary: 'List workers: state, tasks, what each is running',
  usage: 'workers [options]',
  options: [JSON_OPTION, ...CONNECTION_OPTIONS, HELP_OPTION],
  examples: ['agent-ops workers', 'agent-ops workers --json'],

  async run(args) {
    const command = 'workers';
    const connection = connectionFrom(args, command);
    if (args.positionals.length > 0)
      throw usageError(`unexpected argument ${quote(args.positionals[0])}`, command);
    const output = createOutput({
      json: args.options.json === true,
      noColor: args.options.noColor === true,
    });
    const client = createClient(connection, output);
    try {
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
    } finally {
      client.close();
    }
  },
};
