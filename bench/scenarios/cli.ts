// The CLI: `--help` beside `node -e 0` (the start-up cost we add), and a 1,000-step run against
// the shared server with no interval (the cost of sending).
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { BUDGETS } from '../budgets.ts';
import { track } from '../harness/children.ts';
import { json, type RunSummary } from '../harness/control-http.ts';
import { firstLine, fmt, ms } from '../harness/format.ts';
import { median } from '../harness/latency.ts';
import { passFail } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { BENCH_CLI } from '../harness/servers.ts';

export const title = 'CLI';

const CLI_REPEATS = 10;
const STEPS_TIMEOUT_MS = 60_000;

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', NO_COLOR: '1' };
  delete env.AGENTOPS_SERVER;
  delete env.AGENTOPS_API_KEY;
  delete env.GITHUB_STEP_SUMMARY;
  return env;
}

function timeSync(args: string[]): { ms: number; status: number | null; output: string } {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', env: cliEnv() });
  return {
    ms: performance.now() - started,
    status: result.status,
    output: `${result.stdout}${result.stderr}`,
  };
}

export async function run({ report, sharedServer }: Bench): Promise<void> {
  const budget = BUDGETS.cli;
  const probe = timeSync([BENCH_CLI, '--help']);
  if (probe.status !== 0) {
    const reason = `--help exited ${probe.status}: ${firstLine(probe.output)}`;
    report.results.cli = { skipped: reason };
    report.row('CLI --help', `skipped: ${reason}`);
    report.row('CLI --steps 1000 --interval 0', `skipped: ${reason}`);
    return;
  }
  const bare: number[] = [];
  const help: number[] = [];
  for (let i = 0; i <= CLI_REPEATS; i++) {
    const nodeRun = timeSync(['-e', '0']);
    const helpRun = timeSync([BENCH_CLI, '--help']);
    if (helpRun.status !== 0) report.broken(`CLI --help exited ${helpRun.status}`);
    // The first pair only warms the disk cache.
    if (i > 0) {
      bare.push(nodeRun.ms);
      help.push(helpRun.ms);
    }
  }
  const overhead = median(help) - median(bare);
  report.row(
    'CLI --help over node -e 0 (median)',
    `+${ms(overhead)} (${ms(median(help))} vs ${ms(median(bare))})`,
    `≤ ${budget.helpOverheadMs} ms`,
    passFail(overhead <= budget.helpOverheadMs),
  );
  const cli: Record<string, unknown> = {
    helpMs: median(help),
    nodeMs: median(bare),
    overheadMs: overhead,
  };
  report.results.cli = cli;

  if (!probe.output.includes('--steps')) {
    cli.steps = { skipped: '--help does not mention --steps' };
    report.row('CLI --steps 1000 --interval 0', 'skipped: --help does not mention --steps');
    return;
  }
  const ours = await sharedServer();
  const before = new Set(
    (await json<RunSummary[]>('GET', `${ours.url}/api/runs?limit=1000`)).map((r) => r.id),
  );
  const args = [BENCH_CLI, '--steps', '1000', '--interval', '0', '--server', ours.url];
  const started = performance.now();
  const child = track(
    spawn(process.execPath, args, { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const status = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STEPS_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const wallMs = performance.now() - started;
  if (status === 2) {
    cli.steps = { skipped: `usage error: ${firstLine(output)}` };
    report.row('CLI --steps 1000 --interval 0', `skipped: usage error: ${firstLine(output)}`);
    return;
  }
  const after = await json<RunSummary[]>('GET', `${ours.url}/api/runs?limit=1000`);
  const created = after.filter((r) => !before.has(r.id));
  cli.steps = { wallMs, status, runs: created };
  if (status !== 0) report.broken(`CLI --steps 1000 exited ${status}: ${firstLine(output)}`);
  else if (
    created.length !== 1 ||
    created[0]!.status !== 'completed' ||
    created[0]!.eventCount < 1000
  ) {
    report.broken(`CLI --steps 1000 exited 0 but left ${JSON.stringify(created)}`);
  }
  report.row(
    'CLI --steps 1000 --interval 0',
    `${ms(wallMs)}${created[0] ? ` (${fmt(created[0].eventCount)} events)` : ''}`,
    `≤ ${fmt(budget.stepsMs)} ms`,
    passFail(status === 0 && wallMs <= budget.stepsMs),
  );
}
