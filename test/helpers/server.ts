// Starts the real server (dist/agent-ops.js serve) on port 0 in its own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/agent-ops.js', import.meta.url));

export interface ServerHandle {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code once it has exited. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

export interface ServerOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  port?: number;
  /** A command the server runs under, e.g. `['prlimit', '--nofile=256:256', '--']`. */
  launcher?: string[];
}

export function tempDir(prefix = 'agent-ops-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
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
    CLI,
    'serve',
    '--port',
    String(options.port ?? 0),
    '--data',
    dataDir,
    ...(options.args ?? []),
  ];
  const env = {
    ...process.env,
    AGENTOPS_API_KEY: undefined,
    AGENTOPS_LOG_LEVEL: 'quiet',
    ...options.env,
  };
  const [command, ...prefix] = [...(options.launcher ?? []), process.execPath];
  const proc = spawn(command!, [...prefix, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    proc.once('exit', (code) =>
      reject(new Error(`server exited with ${code} before listening: ${stderr}`)),
    );
  });
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
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
