// `agent-ops hook claude-pre-tool-use`: a command for Claude Code's PreToolUse hook. It reads the
// hook's JSON on stdin, asks for approval on the run that `agent-ops exec` started (found through
// AGENTOPS_RUN_ID), waits, and answers in the hook's JSON output format. Whatever goes wrong, it
// answers "ask" (Claude Code's own prompt), never a silent allow.
import { randomBytes } from 'node:crypto';
import {
  APPROVAL_ID_PATTERN,
  MAX_APPROVAL_DETAIL_LENGTH,
  type ApprovalDecision,
} from '../../shared/approvals.ts';
import { MAX_TITLE_LENGTH, RUN_ID_PATTERN } from '../../shared/constants.ts';
import type { JsonObject } from '../../shared/types.ts';
import { isObject, quote } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, connectionFrom } from '../common-options.ts';
import { createClient } from '../create-client.ts';
import { EXIT } from '../exit-codes.ts';
import { createOutput } from '../output.ts';
import type { ParsedArgs } from '../parse-args.ts';
import {
  requestApproval,
  type ApprovalOutcome,
  type ApprovalRequest,
} from '../request-approval.ts';
import { APPROVAL_TIMEOUT_OPTIONS, timeoutSeconds } from '../timeout-option.ts';

export const HOOK_NAMES = ['claude-pre-tool-use'] as const;
/** Claude Code waits on the hook: an unreachable server is given up on quickly, then "ask". */
export const HOOK_RETRY_FOR_S = 5;
/** Claude Code's hook input is small; anything bigger is not one. */
const MAX_HOOK_INPUT_BYTES = 1024 * 1024;
/** Claude Code's own hook timeout must be longer (README: "timeout": 900). */
const DEFAULT_HOOK_TIMEOUT_MS = 600_000;

type PermissionDecision = 'allow' | 'deny' | 'ask';

/** The PreToolUse hook's JSON output. */
export function hookAnswer(decision: PermissionDecision, reason: string): string {
  return JSON.stringify({
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: decision,
      permissionDecisionReason: reason,
    },
  });
}

/** One line a person can decide on: the command, the file, or the arguments in short. */
function summarize(toolName: string, input: JsonObject): string {
  const value =
    typeof input.command === 'string'
      ? input.command
      : typeof input.file_path === 'string'
        ? input.file_path
        : JSON.stringify(input);
  const title = `${toolName}: ${value.replace(/\s+/g, ' ')}`;
  return title.length > MAX_TITLE_LENGTH ? `${title.slice(0, MAX_TITLE_LENGTH - 1)}…` : title;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_HOOK_INPUT_BYTES) throw new Error('the hook input is larger than 1 MiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function answerOf(outcome: ApprovalOutcome | undefined): [PermissionDecision, string] {
  if (outcome === undefined) return ['ask', 'agent-ops: interrupted while waiting for a decision'];
  if (outcome.kind === 'closed')
    return ['deny', `agent-ops: the run ended (${outcome.status}) before anyone decided`];
  const verb = outcome.decision === 'approve' ? 'approved' : 'denied';
  return [
    outcome.decision === 'approve' ? 'allow' : 'deny',
    outcome.note ?? `${verb} by ${outcome.by} in agent-ops`,
  ];
}

export const hookCommand: Command = {
  name: 'hook',
  summary: "Claude Code's PreToolUse hook: approve its tool calls from the dashboard",
  usage: 'hook claude-pre-tool-use [options]',
  options: [
    {
      name: 'tools',
      flags: ['--tools'],
      type: 'string',
      valueName: 'names',
      description: 'Ask only for these tools, comma-separated (default: every tool the hook gets)',
    },
    ...APPROVAL_TIMEOUT_OPTIONS.map((option) =>
      option.name === 'timeout'
        ? {
            ...option,
            default: DEFAULT_HOOK_TIMEOUT_MS,
            description: 'Decide by itself after this long',
          }
        : option,
    ),
    {
      name: 'run',
      flags: ['--run'],
      type: 'string',
      valueName: 'runId',
      env: 'AGENTOPS_RUN_ID',
      description: 'The run to ask on (env AGENTOPS_RUN_ID, which `agent-ops exec` sets)',
    },
    ...CONNECTION_OPTIONS.map((option) =>
      option.name === 'retryFor' ? { ...option, default: HOOK_RETRY_FOR_S } : option,
    ),
    HELP_OPTION,
  ],
  examples: [
    'agent-ops hook claude-pre-tool-use --tools Bash,Edit,Write',
    'agent-ops exec --format claude -- claude -p "fix the failing test" --output-format stream-json --verbose',
  ],
  notes: [
    'Wire it in .claude/settings.json (README, "Approvals"); under `agent-ops exec` it finds the',
    'run and the server through AGENTOPS_RUN_ID, AGENTOPS_SERVER and AGENTOPS_API_KEY. For a',
    'tool in --tools it records an approval and waits: Approve answers "allow", Deny "deny", both',
    'with the note as the reason. Other tools get no decision (Claude Code asks as usual). No run,',
    'an unreachable server or bad input answer "ask": never a silent allow. Set the hook\'s',
    '"timeout" in the settings above --timeout (default 10m), or Claude Code gives up first.',
  ],

  async run(args) {
    const command = 'hook';
    const { options, positionals } = args;
    const name = positionals[0];
    if (!(HOOK_NAMES as readonly (string | undefined)[]).includes(name))
      throw usageError(
        `the hook must be one of ${HOOK_NAMES.join(', ')}; got ${quote(name ?? '')}`,
        command,
      );
    const connection = connectionFrom(args, command);
    const tools =
      options.tools === undefined
        ? undefined
        : new Set(
            String(options.tools)
              .split(',')
              .map((tool) => tool.trim())
              .filter(Boolean),
          );
    const say = (decision: PermissionDecision, reason: string): number => {
      process.stdout.write(`${hookAnswer(decision, reason)}\n`);
      return EXIT.ok;
    };

    let input: JsonObject;
    try {
      input = await readHookInput();
    } catch (error) {
      return say('ask', `agent-ops: cannot read the hook input (${(error as Error).message})`);
    }
    // A tool we were not asked to guard gets no decision: Claude Code's own rules apply.
    if (tools && !tools.has(input.tool_name as string)) return EXIT.ok;
    const runId = options.run === undefined ? '' : String(options.run);
    if (!RUN_ID_PATTERN.test(runId))
      return say(
        'ask',
        'agent-ops: no run to ask on (AGENTOPS_RUN_ID is not set: run claude under `agent-ops exec`)',
      );
    const client = createClient(connection, createOutput({ json: true, noColor: true }));
    try {
      const request = approvalRequestOf(input, options);
      const outcome = await requestApproval(client, runId, request, new AbortController().signal);
      return say(...answerOf(outcome));
    } catch (error) {
      return say('ask', `agent-ops: could not get a decision (${(error as Error).message})`);
    } finally {
      client.close();
    }
  },
};

/** Claude Code's hook input from stdin; throws when it is not one. */
async function readHookInput(): Promise<JsonObject> {
  const parsed: unknown = JSON.parse(await readStdin());
  if (!isObject(parsed) || typeof parsed.tool_name !== 'string')
    throw new Error('no tool_name in it');
  return parsed;
}

/** The approval a tool call asks for: its tool_use_id, a one-line title, its input as args. */
function approvalRequestOf(input: JsonObject, options: ParsedArgs['options']): ApprovalRequest {
  const toolName = input.tool_name as string;
  const toolInput = isObject(input.tool_input) ? input.tool_input : {};
  const toolUseId = input.tool_use_id;
  const request: ApprovalRequest = {
    approvalId:
      typeof toolUseId === 'string' && APPROVAL_ID_PATTERN.test(toolUseId)
        ? toolUseId
        : `hook-${randomBytes(6).toString('hex')}`,
    title: summarize(toolName, toolInput),
    toolName,
    args: toolInput,
  };
  if (typeof toolInput.description === 'string')
    request.detail = toolInput.description.slice(0, MAX_APPROVAL_DETAIL_LENGTH);
  const timeoutS = timeoutSeconds(options.timeout);
  if (timeoutS !== undefined) {
    request.timeoutS = timeoutS;
    request.onTimeout = options.onTimeout as ApprovalDecision;
  }
  return request;
}
