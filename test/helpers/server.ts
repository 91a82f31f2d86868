// Starts the real server (dist/agent-ops.js serve) on port 0 in its own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/agent-ops.js', import.meta.url));

/** A server silent this long is killed: a stuck start must not hang a test. */
const START_TIMEOUT_MS = 30_000;

/** A process that printed "listening on <url>": a server of ours, or the bench's baseline. */
export interface ListeningProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code once it has exited. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

export interface ServerHandle extends ListeningProcess {
  dataDir: string;
}

export interface ServerOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  port?: number;
  /** Another build of dist/agent-ops.js (the bench's BENCH_CLI). */
  cli?: string;
  /** A command the server runs under, e.g. `['prlimit', '--nofile=256:256', '--']`. */
  launcher?: string[];
}

/** Every directory tempDir made in this test process: removed when the process exits. */
const madeDirs: string[] = [];

/** A new directory under the system's temporary one, gone when this test file's process ends. */
export function tempDir(prefix = 'agent-ops-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (madeDirs.length === 0) process.once('exit', removeMadeDirs);
  madeDirs.push(dir);
  return dir;
}

function removeMadeDirs(): void {
  for (const dir of madeDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Still mounted (a fault test's file system): its own cleanup unmounts it.
    }
  }
}

/**
 * A server for one test: stopped when the test ends, and its data directory removed when this
 * helper made it (a directory the test passed in is the test's to keep).
 */
export async function serverFor(
  t: { after(fn: () => Promise<void>): void },
  options: ServerOptions = {},
): Promise<ServerHandle> {
  const server = await startServer(options);
  t.after(async () => {
    await server.stop();
    if (options.dataDir === undefined) rmSync(server.dataDir, { recursive: true, force: true });
  });
  return server;
}

export async function startServer(options: ServerOptions = {}): Promise<ServerHandle> {
  const dataDir = options.dataDir ?? tempDir();
  const args = [
    options.cli ?? CLI,
    'serve',
    '--port',
    String(options.port ?? 0),
    '--data',
    dataDir,
    ...(options.args ?? []),
  ];
  const env = { AGENTOPS_API_KEY: undefined, AGENTOPS_LOG_LEVEL: 'quiet', ...options.env };
  return { ...(await spawnListening(args, env, options.launcher)), dataDir };
}

/**
 * Spawns `node <args>` (with `env` over this process's environment, under `launcher` when given)
 * and resolves once it prints
 * "listening on <url>"; rejects if it exits first, or kills it if it says nothing in time.
 */
export async function spawnListening(
  args: string[],
  env: Record<string, string | undefined> = {},
  launcher: string[] = [],
): Promise<ListeningProcess> {
  const [command, ...prefix] = [...launcher, process.execPath];
  const proc = spawn(command!, [...prefix, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(
        new Error(`${args[0]} did not say "listening on" within ${START_TIMEOUT_MS} ms: ${stderr}`),
      );
    }, START_TIMEOUT_MS);
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
