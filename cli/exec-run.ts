// One run of `agent-ops exec`: create the run, spawn the command in its own process group, read
// its output (pass-output-through, output-events), carry out pause / resume / stop from the control
// channel and our own signals, and end the run by how the process ended (exec-outcome).
import type { Writable } from 'node:stream';
import type { EventInput, JsonObject, Run } from '../shared/types.ts';
import { capStrings } from './cap-strings.ts';
import { commandLine } from './command-line.ts';
import { ControlChannel } from './control-channel.ts';
import { EventSender } from './event-sender.ts';
import { execOutcome, type ExecResult } from './exec-outcome.ts';
import type { HttpClient } from './http-client.ts';
import { OutputEvents, type ExecFormat } from './output-events.ts';
import { OWN_SIGNALS, type OwnSignal, type StopCause } from './own-signals.ts';
import { passOutputThrough } from './pass-output-through.ts';
import { ProcessGroup } from './process-group.ts';
import { redactSecrets, redactValue } from './redact-secrets.ts';
import { createRun } from './simulated-run.ts';

/** Once the process has exited, how long its pipes may stay open (held by an escaped descendant). */
export const PIPE_CLOSE_WAIT_MS = 2_000;

export interface ExecOptions {
  client: HttpClient;
  runId: string;
  title: string;
  command: string;
  args: readonly string[];
  format: ExecFormat;
  graceMs: number;
  redact: boolean;
  metadata: JsonObject | undefined;
  /** `directives`: the command's stdin carries directives, one per line; `pass`: ours. */
  stdin?: ExecStdin;
  /** Passed on in AGENTOPS_API_KEY, so a hook inside the command can reach the server. */
  apiKey?: string | undefined;
  /** Where the command's stdout goes (stderr under --json). */
  stdout: Writable;
  stderr: Writable;
  /** A line of our own for the terminal (always stderr). */
  note(text: string): void;
  onCreated?(run: Run): void;
  onSpawned?(pid: number | undefined): void;
}

export type { ExecResult };

export const EXEC_STDIN_MODES = ['pass', 'directives'] as const;
export type ExecStdin = (typeof EXEC_STDIN_MODES)[number];

/** A directive as the one line the command reads: its own line breaks become spaces. */
export function directiveLine(text: string): string {
  return `${text.replace(/\r?\n|\r/g, ' ')}\n`;
}

export async function execRun(options: ExecOptions): Promise<ExecResult> {
  const { client, runId, format, graceMs } = options;
  const startedAt = performance.now();
  const shown = commandLine(options.command, options.args);
  const scrub = (text: string): string => (options.redact ? redactSecrets(text) : text);
  const run = await createRun(client, {
    id: runId,
    title: options.title,
    metadata: {
      ...options.metadata,
      command: scrub(shown),
      cwd: process.cwd(),
      format,
      environment: 'exec',
      // The run view says whether a directive can reach the command.
      directives: options.stdin === 'directives' ? 'stdin' : 'none',
    },
  });
  options.onCreated?.(run);

  const sender = new EventSender(client, runId);
  let deliveryNoted = false;
  const deliver = (event: EventInput): void => {
    if (sender.error) {
      // The command goes on; exec ends with the delivery error once it has finished.
      if (!deliveryNoted) options.note(`agent-ops: ${sender.error.message}; the command goes on`);
      deliveryNoted = true;
      return;
    }
    sender.emit(event);
  };
  const clean = <T>(value: T): T => capStrings(options.redact ? redactValue(value) : value);
  const output = new OutputEvents({ runId, format, sender, scrub, clean, deliver });
  const post = (event: EventInput): void => output.post(event);

  // Spawn. The child sees pipes, not a terminal; unbuffered Python output keeps lines live.
  // The run and the server are named in its environment, for hooks it runs
  // (`agent-ops hook claude-pre-tool-use`) and for its own `agent-ops` calls.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AGENTOPS_RUN_ID: runId,
    AGENTOPS_SERVER: client.baseUrl,
  };
  if (options.apiKey !== undefined) env.AGENTOPS_API_KEY = options.apiKey;
  env.PYTHONUNBUFFERED ??= '1';
  const directivesIn = options.stdin === 'directives';
  const forwardStdin = !directivesIn && process.stdin.isTTY !== true;
  const group = new ProcessGroup(options.command, options.args, {
    env,
    stdin: forwardStdin || directivesIn ? 'pipe' : 'ignore',
  });
  const { child } = group;
  // No child outlives exec on any exit we can catch.
  const killOnExit = (): void => group.kill();
  process.on('exit', killOnExit);

  let stopCause: StopCause | undefined;
  let signalled = false;
  const onSignal = (name: OwnSignal): void => {
    if (signalled) {
      group.kill();
      process.exit(OWN_SIGNALS[name]); // a second signal: leave at once
    }
    signalled = true;
    // A signal wins over a stop request still in its grace period: exec ends because of it.
    stopCause = { by: 'signal', name };
    options.note(
      `agent-ops: ${name}: stopping ${shown} (SIGTERM now, SIGKILL after ${graceMs / 1000} s)`,
    );
    group.terminate(graceMs);
  };
  const signalNames = Object.keys(OWN_SIGNALS) as OwnSignal[];
  for (const name of signalNames) process.on(name, onSignal);

  const control = new ControlChannel({
    client,
    sender,
    handlers: {
      pause: () => {
        output.flush();
        if (!group.pause()) return false;
        options.note(`agent-ops: paused on request (SIGSTOP to process group ${group.pid})`);
        return true;
      },
      resume: () => {
        if (!group.resume()) return false;
        options.note('agent-ops: resumed on request (SIGCONT)');
        return true;
      },
      stop: (reason) => {
        if (!group.running) return;
        stopCause ??= { by: 'control', reason };
        options.note(
          `agent-ops: stop requested${reason === undefined ? '' : ` (${reason})`}: SIGTERM now, SIGKILL after ${graceMs / 1000} s`,
        );
        group.terminate(graceMs);
      },
      directive: ({ text }) => {
        if (directivesIn && child.stdin?.writable) {
          child.stdin.write(directiveLine(text));
          return true;
        }
        options.note(
          `agent-ops: a directive arrived, but the command does not read directives (exec --stdin directives): ${text}`,
        );
        return false;
      },
    },
    afterSeq: run.lastSeq,
    onLost: (error) =>
      options.note(
        `agent-ops: the control channel is closed (${error.message}); pause / resume / stop no longer reach the command`,
      ),
  });

  if (directivesIn) child.stdin?.on('error', () => {}); // a command that exits stops reading
  if (forwardStdin && child.stdin) {
    child.stdin.on('error', () => {}); // a command that does not read its input is fine
    process.stdin.pipe(child.stdin);
  }
  options.onSpawned?.(child.pid);
  if (format !== 'claude' && child.pid !== undefined) {
    post({
      type: 'run.started',
      payload: {
        message: `Started ${shown}`,
        command: [options.command, ...options.args],
        pid: child.pid,
        cwd: process.cwd(),
        format,
      },
    });
  }

  // Output: passed through as it comes, and read line by line into events.
  const pipesClosed = passOutputThrough({
    sources: { stdout: child.stdout!, stderr: child.stderr! },
    sinks: { stdout: options.stdout, stderr: options.stderr },
    sender,
    maxLineBytes: (stream) => output.maxLineBytes(stream),
    onPiece: (stream, piece) => output.push(stream, piece),
  });

  const exit = await group.exited;
  // The run no longer takes requests: there is nothing left to pause.
  await control.close();
  await group.endStragglers(graceMs);
  const waited = await Promise.race([
    pipesClosed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, PIPE_CLOSE_WAIT_MS, false).unref()),
  ]);
  if (!waited) {
    options.note('agent-ops: a process outside the group still holds the output pipes; leaving it');
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
  for (const name of signalNames) process.off(name, onSignal);
  process.off('exit', killOnExit);
  if (forwardStdin) {
    process.stdin.unpipe();
    process.stdin.destroy();
  }
  output.flush();

  // How it ended.
  const result: ExecResult = execOutcome({
    runId,
    command: options.command,
    shown,
    exit,
    pid: child.pid,
    stopCause,
    forced: group.forced,
    claudeOutcome: output.claude?.outcome,
    stderrTail: output.stderrTail,
    durationMs: Math.round(performance.now() - startedAt),
    post,
  });

  // Success is reported only after every event is acknowledged; a delivery error ends exec.
  await sender.flush();
  result.events = sender.stats.sent;
  return result;
}
