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
  /** `directives`: the command's stdin carries directives, one per line; `pass` (default): ours. */
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
  /**
   * When given, the caller owns SIGINT / SIGTERM / SIGHUP (a worker running many commands):
   * aborting it with a signal's name stops the command as that signal would have.
   */
  stopSignal?: AbortSignal;
  /** Whether our stdin is piped to the command; by default when it is not a terminal. */
  forwardStdin?: boolean;
}

export type { ExecResult };

export const EXEC_STDIN_MODES = ['pass', 'directives'] as const;
export type ExecStdin = (typeof EXEC_STDIN_MODES)[number];

/** A directive as the one line the command reads: its own line breaks become spaces. */
export function directiveLine(text: string): string {
  return `${text.replace(/\r?\n|\r/g, ' ')}\n`;
}

/** What the run records about the command it watches. */
function execMetadata(options: ExecOptions, shownCommand: string): JsonObject {
  return {
    ...options.metadata,
    command: shownCommand,
    cwd: process.cwd(),
    format: options.format,
    environment: 'exec',
    // The run view says whether a directive can reach the command.
    directives: options.stdin === 'directives' ? 'stdin' : 'none',
  };
}

/**
 * The run and the server named in the command's environment, for hooks it runs
 * (`agent-ops hook claude-pre-tool-use`) and for its own `agent-ops` calls.
 */
function runEnv(options: ExecOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    AGENTOPS_RUN_ID: options.runId,
    AGENTOPS_SERVER: options.client.baseUrl,
  };
  if (options.apiKey !== undefined) env.AGENTOPS_API_KEY = options.apiKey;
  return env;
}

export async function execRun(options: ExecOptions): Promise<ExecResult> {
  const { client, runId, format, graceMs, note } = options;
  const startedAt = performance.now();
  const shown = commandLine(options.command, options.args);
  const scrub = (text: string): string => (options.redact ? redactSecrets(text) : text);
  const run = await createRun(client, {
    id: runId,
    title: options.title,
    metadata: execMetadata(options, scrub(shown)),
  });
  options.onCreated?.(run);

  const sender = new EventSender(client, runId);
  const clean = <T>(value: T): T => capStrings(options.redact ? redactValue(value) : value);
  const deliver = deliverUnlessFailed(sender, note);
  const output = new OutputEvents({ runId, format, sender, scrub, clean, deliver });
  const post = (event: EventInput): void => output.post(event);

  const directives = options.stdin === 'directives';
  const forwardStdin = options.forwardStdin ?? process.stdin.isTTY !== true;
  const stdinMode = directives ? 'directives' : forwardStdin ? 'forward' : 'none';
  const { group, release } = spawnGroup(options.command, options.args, runEnv(options), stdinMode);
  const { child } = group;
  const stop: StopState = { cause: undefined };
  const stopListening = listenForOwnSignals(group, shown, graceMs, note, stop, options.stopSignal);
  const control = openControl({
    client,
    sender,
    group,
    output,
    graceMs,
    note,
    stop,
    directives,
    afterSeq: run.lastSeq,
  });
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
  await waitForPipes(pipesClosed, group, note);
  stopListening();
  release();
  output.flush();

  // How it ended.
  const result: ExecResult = execOutcome({
    runId,
    command: options.command,
    shown,
    exit,
    pid: child.pid,
    stopCause: stop.cause,
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

/**
 * Spawns the command in its own group. It sees pipes, not a terminal; unbuffered Python output
 * keeps lines live; its stdin is ours passed on (`forward`), a pipe exec writes directives into
 * (`directives`), or nothing. `release` undoes what this set up in our own process.
 */
function spawnGroup(
  command: string,
  args: readonly string[],
  extraEnv: NodeJS.ProcessEnv,
  stdinMode: 'forward' | 'directives' | 'none',
): { group: ProcessGroup; release(): void } {
  const env = { ...process.env, ...extraEnv };
  env.PYTHONUNBUFFERED ??= '1';
  const directives = stdinMode === 'directives';
  const forwardStdin = stdinMode === 'forward';
  const stdin = directives || forwardStdin ? 'pipe' : 'ignore';
  const group = new ProcessGroup(command, args, { env, stdin });
  // No child outlives exec on any exit we can catch.
  const killOnExit = (): void => group.kill();
  process.on('exit', killOnExit);
  const input = group.child.stdin;
  if (directives) input?.on('error', () => {}); // a command that exits stops reading
  if (forwardStdin && input) {
    input.on('error', () => {}); // a command that does not read its input is fine
    process.stdin.pipe(input);
  }
  return {
    group,
    release() {
      process.off('exit', killOnExit);
      if (!forwardStdin) return;
      process.stdin.unpipe();
      process.stdin.destroy();
    },
  };
}

/** Why exec is stopping the command, once it is. */
interface StopState {
  cause: StopCause | undefined;
}

/** Events go to the sender until delivery has failed; then the command goes on, told once. */
function deliverUnlessFailed(
  sender: EventSender,
  note: (text: string) => void,
): (event: EventInput) => void {
  let noted = false;
  return (event) => {
    if (!sender.error) return void sender.emit(event);
    // exec ends with the delivery error once the command has finished.
    if (!noted) note(`agent-ops: ${sender.error.message}; the command goes on`);
    noted = true;
  };
}

/**
 * Our own SIGINT / SIGTERM / SIGHUP stop the command (a second one leaves at once); with
 * `stopSignal`, its caller hears the signals and aborts it with the signal's name instead.
 */
function listenForOwnSignals(
  group: ProcessGroup,
  shown: string,
  graceMs: number,
  note: (text: string) => void,
  stop: StopState,
  stopSignal: AbortSignal | undefined,
): () => void {
  let signalled = false;
  const onSignal = (name: OwnSignal): void => {
    if (signalled) {
      group.kill();
      process.exit(OWN_SIGNALS[name]); // a second signal: leave at once
    }
    signalled = true;
    // A signal wins over a stop request still in its grace period: exec ends because of it.
    stop.cause = { by: 'signal', name };
    note(`agent-ops: ${name}: stopping ${shown} (SIGTERM now, SIGKILL after ${graceMs / 1000} s)`);
    group.terminate(graceMs);
  };
  if (stopSignal) {
    const onStop = (): void => onSignal(stopSignal.reason as OwnSignal);
    if (stopSignal.aborted) onStop();
    else stopSignal.addEventListener('abort', onStop, { once: true });
    return () => stopSignal.removeEventListener('abort', onStop);
  }
  const names = Object.keys(OWN_SIGNALS) as OwnSignal[];
  for (const name of names) process.on(name, onSignal);
  return () => {
    for (const name of names) process.off(name, onSignal);
  };
}

interface ControlContext {
  client: HttpClient;
  sender: EventSender;
  group: ProcessGroup;
  output: OutputEvents;
  graceMs: number;
  note(text: string): void;
  stop: StopState;
  /** Directives are written to the command's stdin. */
  directives: boolean;
  afterSeq: number;
}

/** Pause / resume / stop from the dashboard or the API reach the process group; directives its stdin. */
function openControl(context: ControlContext) {
  const { client, sender, group, output, graceMs, note, stop } = context;
  return new ControlChannel({
    client,
    sender,
    handlers: {
      pause: () => {
        output.flush();
        if (!group.pause()) return false;
        note(`agent-ops: paused on request (SIGSTOP to process group ${group.pid})`);
        return true;
      },
      resume: () => {
        if (!group.resume()) return false;
        note('agent-ops: resumed on request (SIGCONT)');
        return true;
      },
      stop: (reason) => {
        if (!group.running) return;
        stop.cause ??= { by: 'control', reason };
        note(
          `agent-ops: stop requested${reason === undefined ? '' : ` (${reason})`}: SIGTERM now, SIGKILL after ${graceMs / 1000} s`,
        );
        group.terminate(graceMs);
      },
      directive: ({ text }) => {
        const stdin = group.child.stdin;
        if (context.directives && stdin?.writable) {
          stdin.write(directiveLine(text));
          return true;
        }
        note(
          `agent-ops: a directive arrived, but the command does not read directives (exec --stdin directives): ${text}`,
        );
        return false;
      },
    },
    afterSeq: context.afterSeq,
    onLost: (error) =>
      note(
        `agent-ops: the control channel is closed (${error.message}); pause / resume / stop no longer reach the command`,
      ),
  });
}

/** After the exit, the output pipes get PIPE_CLOSE_WAIT_MS to close before they are let go. */
async function waitForPipes(
  pipesClosed: Promise<unknown>,
  group: ProcessGroup,
  note: (text: string) => void,
): Promise<void> {
  const closed = await Promise.race([
    pipesClosed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, PIPE_CLOSE_WAIT_MS, false).unref()),
  ]);
  if (closed) return;
  note('agent-ops: a process outside the group still holds the output pipes; leaving it');
  group.child.stdout?.destroy();
  group.child.stderr?.destroy();
}
