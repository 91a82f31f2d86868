// One run of `agent-ops exec`: spawn the command in its own process group, pass its output through
// to our terminal, stream it line by line as events (or as the events it describes, with --format
// jsonl / claude), carry out pause / resume / stop from the control channel and our own signals,
// and end the run by how the process ended.
import type { Writable } from 'node:stream';
import { constants } from 'node:os';
import type { EventInput, JsonObject, Run } from '../shared/types.ts';
import { capStrings } from './cap-strings.ts';
import { ClaudeStream } from './claude-stream.ts';
import { ControlChannel } from './control-channel.ts';
import { EventSender } from './event-sender.ts';
import { EXIT } from './exit-codes.ts';
import type { HttpClient } from './http-client.ts';
import { cutLine, LineSplitter, MAX_LINE_BYTES, type LinePiece } from './line-splitter.ts';
import { OutputThrottle, type OutputStream } from './output-throttle.ts';
import { parseEventLine } from './parse-event-line.ts';
import { ProcessGroup } from './process-group.ts';
import { redactSecrets, redactValue } from './redact-secrets.ts';
import { createRun } from './simulated-run.ts';

export const EXEC_FORMATS = ['text', 'jsonl', 'claude'] as const;
export type ExecFormat = (typeof EXEC_FORMATS)[number];

/** A structured line (jsonl, claude) may be this long and still be read as one event. */
export const MAX_STRUCTURED_LINE_BYTES = 8 * 1024 * 1024;
/** Past this many unsent events, the command's output is read no faster than the server takes it. */
export const MAX_PENDING_EVENTS = 10_000;
/** How much of the end of stderr a failed run keeps in run.error. */
export const STDERR_TAIL_LINES = 20;
export const STDERR_TAIL_CHARS = 4_000;
/** Once the process has exited, how long its pipes may stay open (held by an escaped descendant). */
export const PIPE_CLOSE_WAIT_MS = 2_000;

/** Signals that end exec itself, and the exit codes they end it with. */
const OWN_SIGNALS = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm, SIGHUP: 129 } as const;
type OwnSignal = keyof typeof OWN_SIGNALS;

type StopCause = { by: 'control'; reason: string | undefined } | { by: 'signal'; name: OwnSignal };

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
  /** Where the command's stdout goes (stderr under --json). */
  stdout: Writable;
  stderr: Writable;
  /** A line of our own for the terminal (always stderr). */
  note(text: string): void;
  onCreated?(run: Run): void;
  onSpawned?(pid: number | undefined): void;
}

export interface ExecResult {
  runId: string;
  status: 'completed' | 'error' | 'stopped';
  /** What exec exits with. */
  exitCode: number;
  /** How the command ended: its own exit code, or the signal that ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  errorMessage?: string;
  stopReason?: string;
  pid?: number;
  events: number;
  durationMs: number;
}

/** The command line as a person would type it, for the default title. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
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
  const throttle = new OutputThrottle(({ stream, line, text, partial, merged }) =>
    deliver({
      type: `agent.${stream}`,
      payload: {
        line,
        text,
        ...(partial ? { partial: true } : {}),
        ...(merged ? { merged } : {}),
      },
    }),
  );
  /** Any event other than an output line: what is being merged goes first, to keep the order. */
  const post = (event: EventInput): void => {
    throttle.flush();
    deliver(clean(event));
  };

  // Spawn. The child sees pipes, not a terminal; unbuffered Python output keeps lines live.
  const env = { ...process.env };
  env.PYTHONUNBUFFERED ??= '1';
  const forwardStdin = process.stdin.isTTY !== true;
  const group = new ProcessGroup(options.command, options.args, {
    env,
    stdin: forwardStdin ? 'pipe' : 'ignore',
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
        throttle.flush();
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
    },
    onLost: (error) =>
      options.note(
        `agent-ops: the control channel is closed (${error.message}); pause / resume / stop no longer reach the command`,
      ),
  });

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
  const claude = format === 'claude' ? new ClaudeStream() : undefined;
  const stderrTail: string[] = [];
  const lineCounts = { stdout: 0, stderr: 0 };
  const continuing = { stdout: false, stderr: false };

  const structured = (text: string): boolean => {
    if (format === 'jsonl') {
      const event = parseEventLine(text, runId);
      if (event) post(event);
      return event !== undefined;
    }
    const translation = claude?.translate(text);
    if (!translation) return false;
    for (const event of translation.events) post(event);
    if (translation.metadata && !sender.error) {
      throttle.flush();
      sender.patch({ metadata: clean(translation.metadata) });
    }
    return true;
  };

  const onPiece = (stream: OutputStream, piece: LinePiece): void => {
    const wasContinuing = continuing[stream];
    continuing[stream] = piece.partial;
    const line = wasContinuing ? lineCounts[stream] : ++lineCounts[stream];
    if (stream === 'stdout' && format !== 'text' && !wasContinuing && !piece.partial) {
      if (structured(piece.bytes.toString('utf8'))) return;
    }
    for (const part of cutLine(piece.bytes, MAX_LINE_BYTES, piece.partial)) {
      // Not UTF-8? Every bad byte becomes U+FFFD: the text is always valid, never a crash.
      const raw = part.bytes.toString('utf8');
      const text = scrub(raw);
      if (stream === 'stderr') {
        if (wasContinuing && stderrTail.length > 0) stderrTail[stderrTail.length - 1] += text;
        else stderrTail.push(text);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      }
      throttle.push({ stream, line, text, ...(part.partial ? { partial: true } : {}) });
    }
  };

  // Backpressure: while too much waits to be sent, or our own stdout is full, stop reading.
  const holds = new Map<NodeJS.ReadableStream, number>();
  const hold = (source: NodeJS.ReadableStream, until: Promise<unknown>): void => {
    holds.set(source, (holds.get(source) ?? 0) + 1);
    source.pause();
    void until
      .catch(() => {})
      .finally(() => {
        const left = holds.get(source)! - 1;
        holds.set(source, left);
        if (left === 0) source.resume();
      });
  };
  let draining = false;
  const sources = { stdout: child.stdout!, stderr: child.stderr! };
  const closed = (Object.keys(sources) as OutputStream[]).map((stream) => {
    const source = sources[stream];
    const sink = stream === 'stdout' ? options.stdout : options.stderr;
    const splitter = new LineSplitter(
      stream === 'stdout' && format !== 'text' ? MAX_STRUCTURED_LINE_BYTES : MAX_LINE_BYTES,
    );
    let sinkBroken = false;
    sink.on('error', () => (sinkBroken = true)); // e.g. `| head` closed our stdout: keep recording
    source.on('data', (chunk: Buffer) => {
      if (!sinkBroken && !sink.write(chunk)) {
        hold(source, new Promise((resolve) => sink.once('drain', resolve)));
      }
      for (const piece of splitter.push(chunk)) onPiece(stream, piece);
      if (!draining && !sender.error && sender.pending > MAX_PENDING_EVENTS) {
        draining = true;
        const flushed = sender.flush().finally(() => (draining = false));
        for (const other of Object.values(sources)) hold(other, flushed);
      }
    });
    return new Promise<void>((resolve) => {
      source.once('end', () => {
        for (const piece of splitter.end()) onPiece(stream, piece);
        resolve();
      });
      source.once('close', resolve);
    });
  });

  const exit = await group.exited;
  // The run no longer takes requests: there is nothing left to pause.
  await control.close();
  await group.endStragglers(graceMs);
  const pipesClosed = Promise.all(closed);
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
  throttle.flush();

  // How it ended.
  const durationMs = Math.round(performance.now() - startedAt);
  const tail = stderrTail.join('\n').slice(-STDERR_TAIL_CHARS);
  const result: ExecResult = {
    runId,
    status: 'completed',
    exitCode: EXIT.ok,
    code: exit.code,
    signal: exit.signal,
    events: 0,
    durationMs,
  };
  if (child.pid !== undefined) result.pid = child.pid;
  post({
    type: 'agent.exit',
    ...(exit.code === 0 ? {} : { level: 'warn' as const }),
    payload: { code: exit.code, signal: exit.signal, durationMs },
  });

  const childExitCode = exit.code ?? (exit.signal ? 128 + signalNumber(exit.signal) : EXIT.failed);
  if (exit.error) {
    const notFound = exit.error.code === 'ENOENT';
    result.status = 'error';
    result.exitCode = notFound ? 127 : 126;
    result.errorMessage = `cannot run ${JSON.stringify(options.command)}: ${notFound ? 'command not found' : exit.error.message}`;
    post({
      type: 'run.error',
      level: 'error',
      payload: { message: result.errorMessage, code: exit.error.code ?? null },
    });
  } else if (stopCause) {
    result.status = 'stopped';
    const how = {
      exitCode: exit.code,
      signal: exit.signal,
      ...(group.forced ? { forced: true } : {}),
    };
    if (stopCause.by === 'control') {
      const { reason } = stopCause;
      result.exitCode = EXIT.stopped;
      result.stopReason = reason ?? 'stop requested';
      post({
        type: 'run.stopped',
        level: 'warn',
        payload: {
          message: `Stopped on request${reason === undefined ? '' : `: ${reason}`}`,
          ...(reason === undefined ? {} : { reason }),
          by: 'producer',
          ...how,
        },
      });
    } else {
      result.exitCode = OWN_SIGNALS[stopCause.name];
      result.stopReason = stopCause.name;
      post({
        type: 'run.stopped',
        level: 'warn',
        payload: { message: `Stopped by ${stopCause.name}`, reason: stopCause.name, ...how },
      });
    }
  } else {
    result.exitCode = childExitCode;
    const outcome = claude?.outcome;
    const failed = outcome ? outcome.status === 'error' : childExitCode !== 0;
    const how =
      exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
    if (failed) {
      result.status = 'error';
      result.errorMessage = outcome?.message ?? `${shown} ${how}`;
      post({
        type: 'run.error',
        level: 'error',
        payload: {
          message: result.errorMessage,
          ...outcome?.payload,
          exitCode: exit.code,
          signal: exit.signal,
          ...(tail ? { stderrTail: tail } : {}),
        },
      });
    } else {
      post({
        type: 'run.completed',
        // Claude's own durationMs, when it reported one, wins over our wall-clock time.
        payload: {
          message: outcome?.message ?? `${shown} ${how}`,
          durationMs,
          ...outcome?.payload,
          exitCode: exit.code,
        },
      });
    }
  }

  // Success is reported only after every event is acknowledged; a delivery error ends exec.
  await sender.flush();
  result.events = sender.stats.sent;
  return result;
}
