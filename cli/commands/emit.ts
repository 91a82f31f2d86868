// `agent-ops emit <runId> <type>`: append one event to a run from a shell script.
import { randomUUID } from 'node:crypto';
import { LEVELS } from '../../shared/constants.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { AgentEvent, EventInput } from '../../shared/types.ts';
import { checkJsonShape, quote, validateEventInput } from '../../shared/validate.ts';
import { runApiPath } from '../../shared/run-url.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import type { ParsedArgs } from '../parse-args.ts';
import { parseJsonOption } from '../parse-json-option.ts';
import { withClient } from '../with-client.ts';

export const emitCommand: Command = {
  name: 'emit',
  summary: 'Append one event to a run',
  usage: 'emit <runId> <type> [options]',
  options: [
    {
      name: 'payload',
      flags: ['--payload'],
      type: 'string',
      valueName: 'json',
      default: '{}',
      description: 'Event payload, a JSON object',
    },
    {
      name: 'level',
      flags: ['--level'],
      type: 'string',
      valueName: 'level',
      choices: LEVELS,
      default: 'info',
      description: LEVELS.join(' | '),
    },
    {
      name: 'agentId',
      flags: ['--agent-id', '--agentId'],
      type: 'string',
      valueName: 'id',
      description: 'Agent that emitted it',
    },
    {
      name: 'taskId',
      flags: ['--task-id', '--taskId'],
      type: 'string',
      valueName: 'id',
      description: 'Task it belongs to',
    },
    {
      name: 'id',
      flags: ['--id'],
      type: 'string',
      valueName: 'eventId',
      description: 'Idempotency id: re-sending the same id stores nothing (default random)',
    },
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    `agent-ops emit "$RUN" task.progress --payload '{"step":1,"total":3,"message":"lint"}'`,
    `agent-ops emit "$RUN" metric --payload '{"name":"coverage","value":87.5,"unit":"%"}'`,
    `agent-ops emit "$RUN" log --level warn --payload '{"message":"retrying download"}'`,
  ],

  run: (args) =>
    withClient(args, { command: 'emit', runId: true, maxPositionals: 2 }, async (context) => {
      const { options, positionals, runId, client, output } = context;
      const body = eventFrom(options, runId, positionals[1]);
      const response = await client.request<AgentEvent>('POST', runApiPath(runId, '/events'), body);
      if (response.status !== 201 && response.status !== 200)
        throw refused(`the ${quote(body.type)} event`, response, true);
      const event = response.body;
      if (output.json) output.result(event);
      else
        output.info(
          `stored event ${event.seq} (${event.type}) in ${runId}${response.status === 200 ? ', already there' : ''}`,
        );
      return EXIT.ok;
    }),
};

/** The event the options describe, checked by the server's own rules before anything is sent. */
function eventFrom(
  options: ParsedArgs['options'],
  runId: string,
  type: string | undefined,
): EventInput {
  const command = 'emit';
  if (type === undefined) throw usageError('missing <type>, e.g. task.progress', command);

  const body: EventInput = {
    id: options.id === undefined ? randomUUID() : String(options.id),
    ts: new Date().toISOString(),
    type,
    level: options.level as EventInput['level'],
    payload: parseJsonOption(String(options.payload), '--payload', command),
  };
  if (options.agentId !== undefined) body.agentId = String(options.agentId);
  if (options.taskId !== undefined) body.taskId = String(options.taskId);
  try {
    checkJsonShape(body, 'event');
    validateEventInput(body, runId);
  } catch (error) {
    if (error instanceof ValidationError) throw usageError(error.message, command);
    throw error;
  }

  return body;
}
