// `agent-ops exec [options] -- <command> [args…]`: run any command as a run, watched live.
import { MAX_TITLE_LENGTH } from '../../shared/constants.ts';
import { runDashboardUrl } from '../../shared/run-url.ts';
import { quote } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import type { OptionSpec } from '../parse-args.ts';
import {
  CONNECTION_OPTIONS,
  HELP_OPTION,
  JSON_OPTION,
  RUN_ID_OPTION,
  METADATA_OPTION,
} from '../common-options.ts';
import { commandLine } from '../command-line.ts';
import type { ExecResult } from '../exec-outcome.ts';
import { EXEC_STDIN_MODES, execRun, type ExecStdin } from '../exec-run.ts';
import { EXEC_FORMATS, type ExecFormat } from '../output-events.ts';
import { newRunId } from '../../shared/new-run-id.ts';
import type { Output } from '../output.ts';
import { redactSecrets } from '../redact-secrets.ts';
import { runIdentity } from '../run-identity.ts';
import { withClient } from '../with-client.ts';

export const DEFAULT_GRACE_MS = 5_000;
export const MAX_GRACE_MS = 3_600_000;

/** Shared with `worker`, which runs each claimed run as exec would. */
export const GRACE_OPTION: OptionSpec = {
  name: 'grace',
  flags: ['--grace'],
  type: 'duration',
  unit: 's',
  valueName: 'duration',
  min: 0,
  max: MAX_GRACE_MS,
  default: DEFAULT_GRACE_MS,
  description: 'On stop or Ctrl-C: time between SIGTERM and SIGKILL (bare number: s)',
};

export const NO_REDACT_OPTION: OptionSpec = {
  name: 'noRedact',
  flags: ['--no-redact'],
  type: 'boolean',
  description: 'Send output as it is, secrets included (see Notes)',
};

export const execCommand: Command = {
  name: 'exec',
  summary: 'Run a command as a run: its output streams live, pause/resume/stop reach it',
  usage: 'exec [options] -- <command> [args…]',
  options: [
    {
      name: 'title',
      flags: ['--title'],
      type: 'string',
      valueName: 'text',
      description: 'Run title (default: the command line)',
    },
    RUN_ID_OPTION,
    {
      name: 'format',
      flags: ['--format'],
      type: 'string',
      valueName: 'format',
      choices: EXEC_FORMATS,
      default: 'text',
      description: 'How stdout is read: text, jsonl or claude (see Notes)',
    },
    GRACE_OPTION,
    {
      name: 'stdin',
      flags: ['--stdin'],
      type: 'string',
      valueName: 'mode',
      choices: EXEC_STDIN_MODES,
      default: 'pass',
      description: 'pass: our stdin goes to the command; directives: each directive, one line',
    },
    NO_REDACT_OPTION,
    METADATA_OPTION,
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  examples: [
    'agent-ops exec -- npm test',
    'agent-ops exec --title "nightly eval" -- python eval.py --limit 100',
    'agent-ops exec --format jsonl -- node my-agent.js',
    'agent-ops exec --format claude -- claude -p "fix the failing test" --output-format stream-json --verbose',
  ],
  notes: [
    'The command runs without a shell, in its own process group, and sees pipes, not a terminal:',
    'it may print without colour or buffer its output (PYTHONUNBUFFERED=1 is set unless you set',
    'it). Its output is passed through here unchanged and sent line by line as agent.stdout /',
    'agent.stderr events; past 200 lines/s, consecutive lines are merged into one event with',
    '"merged": N. Before anything is sent, keys and tokens (sk-…, Bearer …, api_key=…, token=…,',
    'AKIA…) become [REDACTED] unless --no-redact; the terminal always sees the real output.',
    '--format jsonl posts stdout lines that are JSON objects with a "type" as those events;',
    "--format claude reads Claude Code's stream-json: tool calls, results, cost and tokens.",
    'The command finds its run in AGENTOPS_RUN_ID (and the server in AGENTOPS_SERVER,',
    'AGENTOPS_API_KEY): with Claude Code, `agent-ops hook claude-pre-tool-use` in its PreToolUse',
    'hook turns tool calls into approvals in the dashboard (README, "Approvals"). --stdin',
    'directives writes each directive (`agent-ops say`, the dashboard) as one line to its stdin',
    'and confirms it; otherwise directives are recorded only.',
    'Pause sends SIGSTOP to the group, resume SIGCONT;',
    "stop and Ctrl-C send SIGTERM, then SIGKILL after --grace. Exit code: the command's own",
    '(128 + n when signal n killed it), or 3 server unreachable, 4 stopped from the dashboard',
    'or API, 130 / 143 / 129 on our SIGINT / SIGTERM / SIGHUP.',
  ],

  run: (args) =>
    // Our own lines go to stderr: stdout is the command's (and, with --json, only our document).
    withClient(
      args,
      { command: 'exec', humanOnStderr: true },
      async ({ options, positionals, client, output }) => {
        const [program, ...programArgs] = positionals;
        if (program === undefined || program === '')
          throw usageError(
            'missing the command to run: agent-ops exec [options] -- <command>',
            'exec',
          );
        const redact = options.noRedact !== true;
        const shown = commandLine(program, programArgs);
        const identity = runIdentity(
          options,
          'exec',
          options.title === undefined
            ? (redact ? redactSecrets(shown) : shown).slice(0, MAX_TITLE_LENGTH)
            : String(options.title),
        );
        const { title, metadata } = identity;
        const runId = identity.id ?? newRunId();
        const json = options.json === true;
        const url = runDashboardUrl(client.baseUrl, runId);
        const result = await execRun({
          client,
          runId,
          title,
          command: program,
          args: programArgs,
          format: options.format as ExecFormat,
          graceMs: Number(options.grace),
          stdin: options.stdin as ExecStdin,
          apiKey:
            typeof options.apiKey === 'string' && options.apiKey !== ''
              ? options.apiKey
              : undefined,
          redact,
          metadata,
          stdout: json ? process.stderr : process.stdout,
          stderr: process.stderr,
          note: (text) => output.note(output.paint('yellow', text)),
          onCreated: (run) =>
            output.note(
              `${output.paint('bold', `agent-ops: run ${run.id}`)} ${quote(run.title)}  ${output.paint('cyan', url)}`,
            ),
        });
        reportExec(output, result, url, json && { runId, title });
        return result.exitCode;
      },
    ),
};

/** The closing line on stderr, and with --json the one document on stdout. */
function reportExec(
  output: Output,
  result: ExecResult,
  url: string,
  json: false | { runId: string; title: string },
): void {
  const seconds = (result.durationMs / 1000).toFixed(1);
  const summary =
    result.status === 'completed'
      ? output.paint('green', `✔ completed in ${seconds} s (${result.events} events)`)
      : result.status === 'error'
        ? output.paint('red', `✖ error: ${result.errorMessage}`)
        : output.paint('yellow', `■ stopped (${result.stopReason})`);
  output.note(`agent-ops: ${summary}  ${output.paint('cyan', url)}`);
  if (!json) return;
  output.result({
    ...json,
    status: result.status,
    ...(result.errorMessage === undefined ? {} : { errorMessage: result.errorMessage }),
    exitCode: result.exitCode,
    code: result.code,
    signal: result.signal,
    ...(result.pid === undefined ? {} : { pid: result.pid }),
    events: result.events,
    durationMs: result.durationMs,
    url,
  });
}
