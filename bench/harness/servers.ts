// The servers a scenario measures: ours (dist/agent-ops.js serve, or BENCH_CLI's build) and the
// bare node:http baseline (bare-server.ts). Both start the way the tests start a server
// (test/helpers/server.ts), with the timing and the stop deadline the bench needs on top.
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLI,
  spawnListening,
  startServer,
  type ListeningProcess,
} from '../../test/helpers/server.ts';
import { track } from './children.ts';
import type { Report } from './report.ts';

/** The CLI bundle measured: BENCH_CLI points the bench at another build. */
export const BENCH_CLI = process.env.BENCH_CLI ?? CLI;
const BARE_SERVER = fileURLToPath(new URL('./bare-server.ts', import.meta.url));
const SERVER_STOP_TIMEOUT_MS = 10_000;

export interface BenchServer {
  url: string;
  pid: number;
  /** Spawn to the "listening on" line, ms. */
  startMs: number;
  stderr(): string;
  /** SIGTERM; resolves with how long the exit took, and fails if it had already exited. */
  stop(): Promise<number>;
}

/** Our server on `dataDir`, with more `serve` options when given. */
export async function startOurs(dataDir: string, args: string[] = []): Promise<BenchServer> {
  const started = performance.now();
  const server = await startServer({
    cli: BENCH_CLI,
    dataDir,
    args,
    env: { AGENTOPS_DATA_DIR: undefined, PORT: undefined },
  });
  return benchServer('ours', server, performance.now() - started);
}

/** The bare node:http baseline, run by the same node and loader (tsx) as the bench. */
export async function startBare(): Promise<BenchServer> {
  const started = performance.now();
  const server = await spawnListening([...process.execArgv, BARE_SERVER], {
    AGENTOPS_LOG_LEVEL: 'quiet',
  });
  return benchServer('bare', server, performance.now() - started);
}

function benchServer(kind: string, server: ListeningProcess, startMs: number): BenchServer {
  const proc = track(server.proc);
  return {
    url: server.url.replace(/\/$/, ''),
    pid: proc.pid!,
    startMs,
    stderr: () => server.stderr().slice(-4000),
    async stop() {
      const stopping = performance.now();
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `${kind} server had already exited (${proc.exitCode ?? proc.signalCode}): ${server.stderr().slice(-4000)}`,
        );
      }
      const exited = server.stop().then(() => true);
      const inTime = await Promise.race([exited, sleep(SERVER_STOP_TIMEOUT_MS).then(() => false)]);
      if (!inTime) {
        await server.kill();
        throw new Error(
          `${kind} server did not exit within ${SERVER_STOP_TIMEOUT_MS / 1000} s of SIGTERM`,
        );
      }
      return performance.now() - stopping;
    },
  };
}

/** Runs `body`, then stops `server` however it ended; a failed stop is reported as broken. */
export async function withServer<T>(
  report: Report,
  server: BenchServer,
  name: string,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } finally {
    await server.stop().catch((error: unknown) => report.broken(`${name}: ${String(error)}`));
  }
}
