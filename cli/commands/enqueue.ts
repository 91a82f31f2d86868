// `agent-ops enqueue <task>`: queue a run for a worker that offers the task, print its id, and with
// --wait follow it to its end and exit by how it ended (0 / 1 / 4), so CI can hand work off and
// still fail on the result.
import { MAX_ATTEMPTS_LIMIT } from '../../shared/constants.ts';
import { runDashboardUrl } from '../../shared/run-url.ts';
import type { TaskInput, WorkerInfo } from '../../shared/types.ts';
import { quote, validateTaskInput, validateTaskName } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import {
  CONNECTION_OPTIONS,
  HELP_OPTION,
  JSON_OPTION,
  METADATA_OPTION,
  RUN_ID_OPTION,
} from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { listenForInterrupt, SIGNAL_EXIT_CODES, type StopSignal } from '../interrupt-signal.ts';
import { newRunId } from '../../shared/new-run-id.ts';
import { createOutput } from '../output.ts';
import { parseJsonOption } from '../parse-json-option.ts';
import { runIdentity } from '../run-identity.ts';
import { createRun } from '../simulated-run.ts';
import { withClient } from '../with-client.ts';
import { tailRun } from './tail.ts';

/** --param k=v values and --input merged; --param wins, and its values are strings. */
function taskInput(options: Record<string, unknown>, command: string): TaskInput {
  const input: Record<string, unknown> =
    options.input === undefined ? {} : parseJsonOption(String(options.input), '--input', command);
  for (const pair of (options.param as string[] | undefined) ?? []) {
    const equals = pair.indexOf('=');
    if (equals < 1) throw usageError(`--param must be name=value; got ${quote(pair)}`, command);
    input[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  try {
    return validateTaskInput(input, '--input');
  } catch (error) {
    throw usageError((error as Error).message, command);
  }
}

export const enqueueCommand: Command = {
  name: 'enqueue',
  summary: 'Queue a run of a task for a worker; print its id (--wait: follow it to its end)',
  usage: 'enqueue <task> [options]',
  options: [
    {
      name: 'input',
      flags: ['--input'],
      type: 'string',
      valueName: 'json',
      description: 'The task\'s parameters, a JSON object: \'{"prompt":"fix it"}\'',
    },
    {
      name: 'param',
      flags: ['--param'],
      type: 'string',
      valueName: 'name=value',
      repeatable: true,
      description: 'One parameter (repeatable; wins over --input)',
    },
    {
      name: 'title',
      flags: ['--title'],
      type: 'string',
      valueName: 'text',
      description: 'Run title (default: the task name)',
    },
    RUN_ID_OPTION,
    {
      name: 'maxAttempts',
      flags: ['--max-attempts', '--maxAttempts'],
      type: 'integer',
      valueName: 'n',
      min: 1,
      max: MAX_ATTEMPTS_LIMIT,
      default: 1,
      description: 'Attempts, if the worker running it is lost',
    },
    {
      name: 'wait',
      flags: ['--wait'],
      type: 'boolean',
      description: 'Follow the run to its end; exit 0 completed, 1 error, 4 stopped',
    },
    METADATA_OPTION,
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    'RUN=$(agent-ops enqueue test)',
    "agent-ops enqueue fix --param prompt='fix the failing test' --wait",
    'agent-ops enqueue simulate --input \'{"steps":5,"interval":100}\' --max-attempts 3',
  ],
  notes: [
    'The run waits in the queue (oldest first) until a worker that offers the task claims it; a',
    'task nobody offers yet is queued anyway, and said so on stderr.',
  ],

  run: (args) =>
    withClient(args, { command: 'enqueue', maxPositionals: 1 }, async (context) => {
      const { options, positionals, client, output } = context;
      const command = 'enqueue';
      if (positionals.length === 0)
        throw usageError('missing the task: agent-ops enqueue <task> [options]', command);
      let task: string;
      try {
        task = validateTaskName(positionals[0], 'the task');
      } catch (error) {
        throw usageError((error as Error).message, command);
      }
      const input = taskInput(options, command);
      const identity = runIdentity(options, command, String(options.title ?? task));
      const id = identity.id ?? newRunId();
      const run = await createRun(client, {
        id,
        title: identity.title,
        task,
        input,
        maxAttempts: Number(options.maxAttempts),
        ...(identity.metadata ? { metadata: identity.metadata } : {}),
      });
      const workers = await client.request<WorkerInfo[]>('GET', '/api/workers');
      const offered =
        workers.status === 200 &&
        workers.body.some((w) => w.state !== 'gone' && w.tasks.some((t) => t.name === task));
      if (!offered)
        output.note(
          output.paint(
            'yellow',
            `agent-ops: no online worker offers task ${quote(task)} yet; the run waits in the queue (agent-ops worker --task ${task}='…')`,
          ),
        );
      if (output.json) output.result({ ...run, url: runDashboardUrl(client.baseUrl, id) });
      else output.info(id);
      if (options.wait !== true) return EXIT.ok;
      const interrupt = listenForInterrupt();
      try {
        // The run's events go to stderr: stdout holds the id (or the JSON document) alone.
        const human = createOutput({ json: false, noColor: options.noColor === true });
        const events = { ...human, info: human.note };
        const code = await tailRun(client, events, id, 0, interrupt.signal);
        if (interrupt.signal.aborted)
          return SIGNAL_EXIT_CODES[interrupt.signal.reason as StopSignal];
        return code;
      } finally {
        interrupt.dispose();
      }
    }),
};
