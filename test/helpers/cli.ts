// Runs the real CLI (dist/agent-ops.js) as a child process, the way a user or a CI job would.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './server.ts';
import { WAIT_TIMEOUT_MS } from './wait.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `predicate` holds for the output so far. */
  waitFor(predicate: (stdout: string, stderr: string) => boolean, what: string): Promise<void>;
  exited: Promise<CliResult>;
}

/** The CLI's environment: nothing inherited that would change its behaviour, plus `env`. */
export function cliEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['AGENTOPS_SERVER', 'AGENTOPS_API_KEY', 'GITHUB_STEP_SUMMARY', 'NO_COLOR'])
    delete base[name];
  const merged = { ...base, ...env };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return merged;
}

export function spawnCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  cwd?: string,
): CliProcess {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: cliEnv(env),
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let changed: (() => void) | undefined;
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    changed?.();
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    changed?.();
  });
  const exited = new Promise<CliResult>((resolve) =>
    proc.once('close', (code, signal) => {
      changed?.();
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return {
    proc,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(predicate, what) {
      const deadline = Date.now() + WAIT_TIMEOUT_MS;
      while (!predicate(stdout, stderr)) {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(
            `CLI exited (${proc.exitCode ?? proc.signalCode}) before ${what}\nstdout: ${stdout}\nstderr: ${stderr}`,
          );
        }
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}\nstdout: ${stdout}\nstderr: ${stderr}`);
        await new Promise<void>((resolve) => {
          changed = resolve;
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

/** A CLI process for one test: killed when the test ends, if it has not exited by then. */
export function cliFor(
  t: { after(fn: () => Promise<void>): void },
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): CliProcess {
  const cli = spawnCli(args, env);
  t.after(async () => {
    const { proc } = cli;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    // 'exit', not 'close': a grandchild may still hold the pipes, and it is the test's to check.
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  });
  return cli;
}

export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  return spawnCli(args, env).exited;
}

/** Every event the server stored for a run, in seq order, page by page. */
export async function storedEvents(
  url: string,
  runId: string,
  headers: Record<string, string> = {},
): Promise<any[]> {
  const events: any[] = [];
  for (;;) {
    const after = events.at(-1)?.seq ?? 0;
    const path = `/api/runs/${encodeURIComponent(runId)}/events?limit=5000&after=${after}`;
    const response = await fetch(url + path, { headers });
    if (response.status !== 200) throw new Error(`GET events of ${runId}: ${response.status}`);
    const page = (await response.json()) as any[];
    events.push(...page);
    if (page.length < 5000) return events;
  }
}

export async function storedRun(
  url: string,
  runId: string,
  headers: Record<string, string> = {},
): Promise<any> {
  const response = await fetch(`${url}/api/runs/${encodeURIComponent(runId)}`, { headers });
  if (response.status !== 200) throw new Error(`GET run ${runId}: ${response.status}`);
  return response.json();
}
