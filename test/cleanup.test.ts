// No suite leaves a process or a port behind when its set-up fails half-way, and a browser suite
// with no browser ends at once: skipped outside CI, failed under CI=true. Each case runs a suite
// file in a `node --test` process of its own and watches that process end by itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/server.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/failing-set-up.ts', import.meta.url));
const DASHBOARD_SUITE = fileURLToPath(new URL('./dashboard.test.ts', import.meta.url));
/** Far longer than a suite that ends by itself takes; a suite still running then is hung. */
const HUNG_AFTER_MS = 60_000;
const NO_BROWSER = '/nonexistent/chromium';

interface SuiteRun {
  code: number | null;
  output: string;
}

interface FixtureReport {
  port: number;
  pid: number;
  dataDir: string;
}

/** Runs one suite file with `node --test`; fails the test if it had to be killed. */
async function runSuite(
  t: { after(fn: () => void): void },
  file: string,
  env: Record<string, string | undefined>,
): Promise<SuiteRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // Set in every file that node --test runs; a nested `node --test` seeing it runs nothing.
  delete childEnv.NODE_TEST_CONTEXT;
  for (const [name, value] of Object.entries(childEnv))
    if (value === undefined) delete childEnv[name];
  // A process group of its own: a hung suite is killed with the file process and server it started.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', file],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  };
  t.after(killGroup);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    killGroup();
  }, HUNG_AFTER_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  assert.ok(!killed, `the suite was still running after ${HUNG_AFTER_MS} ms:\n${output}`);
  return { code, output };
}

/** True when something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function assertNothingLeft(report: FixtureReport): Promise<void> {
  assert.equal(alive(report.pid), false, `server process ${report.pid} is still running`);
  assert.equal(
    await listening(report.port),
    false,
    `port ${report.port} still accepts connections`,
  );
  assert.equal(existsSync(report.dataDir), false, `${report.dataDir} is still there`);
}

test('clean-up after a failed set-up', async (t) => {
  const scratch = tempDir('agent-ops-cleanup-');
  t.after(() => rmSync(scratch, { recursive: true, force: true }));

  await t.test(
    'a suite that throws after starting a server ends by itself, failed, leaving no server',
    async (t) => {
      const reportFile = join(scratch, 'throw.json');
      const run = await runSuite(t, FIXTURE, {
        FIXTURE_FAILURE: 'throw',
        FIXTURE_REPORT: reportFile,
      });
      assert.notEqual(run.code, 0, run.output);
      assert.match(run.output, /the set-up failed on purpose/);
      await assertNothingLeft(JSON.parse(readFileSync(reportFile, 'utf8')) as FixtureReport);
    },
  );

  await t.test(
    'under CI=true a missing browser fails the suite with the line saying how to get one, leaving no server',
    async (t) => {
      const reportFile = join(scratch, 'browser.json');
      const run = await runSuite(t, FIXTURE, {
        FIXTURE_FAILURE: 'browser',
        FIXTURE_REPORT: reportFile,
        CI: 'true',
        CHROMIUM_PATH: NO_BROWSER,
      });
      assert.notEqual(run.code, 0, run.output);
      assert.ok(run.output.includes(`no chromium at ${NO_BROWSER} (CHROMIUM_PATH)`), run.output);
      assert.match(run.output, /`apt-get install chromium`, or set CHROMIUM_PATH/);
      await assertNothingLeft(JSON.parse(readFileSync(reportFile, 'utf8')) as FixtureReport);
    },
  );

  await t.test(
    'outside CI a browser suite with no browser is skipped, naming what is missing',
    async (t) => {
      const run = await runSuite(t, DASHBOARD_SUITE, { CI: undefined, CHROMIUM_PATH: NO_BROWSER });
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, /skipped 1/);
      assert.ok(run.output.includes(`no chromium at ${NO_BROWSER} (CHROMIUM_PATH)`), run.output);
    },
  );

  await t.test('under CI=true the same suite fails at once with that line', async (t) => {
    const run = await runSuite(t, DASHBOARD_SUITE, { CI: 'true', CHROMIUM_PATH: NO_BROWSER });
    assert.notEqual(run.code, 0, run.output);
    assert.ok(run.output.includes(`no chromium at ${NO_BROWSER} (CHROMIUM_PATH)`), run.output);
  });
});
