// How a run of `agent-ops exec` ended, from how its command ended: `agent.exit`, then
// `run.completed`, `run.error` or `run.stopped`, and the code exec exits with.
import { constants } from 'node:os';
import type { EventInput } from '../shared/types.ts';
import type { ClaudeOutcome } from './claude-stream.ts';
import { stoppedOnRequest } from './control-channel.ts';
import { EXIT } from './exit-codes.ts';
import { OWN_SIGNALS, type StopCause } from './own-signals.ts';
import type { GroupExit } from './process-group.ts';

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

export interface ExecOutcomeInput {
  runId: string;
  /** The program, as given (for "cannot run"). */
  command: string;
  /** The command line, as shown. */
  shown: string;
  exit: GroupExit;
  pid: number | undefined;
  /** Set when we stopped the command. */
  stopCause: StopCause | undefined;
  /** True when SIGKILL was needed. */
  forced: boolean;
  /** What Claude's result line said, with --format claude. */
  claudeOutcome: ClaudeOutcome | undefined;
  stderrTail: string;
  durationMs: number;
  post(event: EventInput): void;
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

/** Posts the events that end the run and says what exec exits with (`events` is left at 0). */
export function execOutcome(input: ExecOutcomeInput): ExecResult {
  const { exit, durationMs, post } = input;
  const result: ExecResult = {
    runId: input.runId,
    status: 'completed',
    exitCode: EXIT.ok,
    code: exit.code,
    signal: exit.signal,
    events: 0,
    durationMs,
  };
  if (input.pid !== undefined) result.pid = input.pid;
  post({
    type: 'agent.exit',
    ...(exit.code === 0 ? {} : { level: 'warn' as const }),
    payload: { code: exit.code, signal: exit.signal, durationMs },
  });
  if (exit.error) couldNotRun(input, exit.error, result);
  else if (input.stopCause) stoppedByUs(input, input.stopCause, result);
  else endedByItself(input, result);
  return result;
}

/** The command never ran: 127 when it does not exist, 126 otherwise (as a shell says). */
function couldNotRun(
  input: ExecOutcomeInput,
  error: NonNullable<GroupExit['error']>,
  result: ExecResult,
): void {
  const notFound = error.code === 'ENOENT';
  result.status = 'error';
  result.exitCode = notFound ? 127 : 126;
  result.errorMessage = `cannot run ${JSON.stringify(input.command)}: ${notFound ? 'command not found' : error.message}`;
  input.post({
    type: 'run.error',
    level: 'error',
    payload: { message: result.errorMessage, code: error.code ?? null },
  });
}

/** We stopped it: on a stop request (exit 4) or on our own signal (128 + n). */
function stoppedByUs(input: ExecOutcomeInput, cause: StopCause, result: ExecResult): void {
  const { exit } = input;
  result.status = 'stopped';
  const how = {
    exitCode: exit.code,
    signal: exit.signal,
    ...(input.forced ? { forced: true } : {}),
  };
  if (cause.by === 'control') {
    result.exitCode = EXIT.stopped;
    result.stopReason = cause.reason ?? 'stop requested';
    input.post(stoppedOnRequest(cause.reason, how));
    return;
  }
  result.exitCode = OWN_SIGNALS[cause.name];
  result.stopReason = cause.name;
  input.post({
    type: 'run.stopped',
    level: 'warn',
    payload: { message: `Stopped by ${cause.name}`, reason: cause.name, ...how },
  });
}

/** It ended by itself: its exit code (or Claude's result line) says whether the run failed. */
function endedByItself(input: ExecOutcomeInput, result: ExecResult): void {
  const { exit, shown, durationMs } = input;
  const childExitCode = exit.code ?? (exit.signal ? 128 + signalNumber(exit.signal) : EXIT.failed);
  result.exitCode = childExitCode;
  const outcome = input.claudeOutcome;
  const failed = outcome ? outcome.status === 'error' : childExitCode !== 0;
  const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
  const tail = input.stderrTail;
  if (failed) {
    result.status = 'error';
    result.errorMessage = outcome?.message ?? `${shown} ${how}`;
    input.post({
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
    return;
  }
  input.post({
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
