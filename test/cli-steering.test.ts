// Approvals and directives reaching the work: the simulated runner's --approveAt and its log of
// directives, and `exec --stdin directives` writing each directive to the command's stdin.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { rmSync } from 'node:fs';
import { cliFor, spawnCli, storedEvents, storedRun } from './helpers/cli.ts';
import { serverFor, startServer, tempDir } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

/** A command that prints its run id, then echoes each stdin line until it reads "done". */
const ECHO_LINES = `
  console.log('run ' + process.env.AGENTOPS_RUN_ID + ' on ' + process.env.AGENTOPS_SERVER);
  let buffer = '';
  process.stdin.setEncoding('utf8').on('data', (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      console.log('got: ' + line);
      if (line === 'done') process.exit(0);
    }
  });
`;

test('steering the work (CLI)', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  const connection = ['--server', url];
  const pendingOf = async (runId: string): Promise<any[]> =>
    (await api<any[]>(url, `/api/approvals?runId=${runId}`)).body;
  const say = (runId: string, text: string) =>
    api(url, `/api/runs/${runId}/directives`, { body: { text } });

  const startRunner = async (runId: string) => {
    const runner = spawnCli([
      '--id',
      runId,
      '--steps',
      '5',
      '--interval',
      '20',
      '--approveAt',
      '3',
      ...connection,
    ]);
    t.after(() => runner.proc.kill('SIGKILL'));
    await waitFor('the runner to ask', async () => (await pendingOf(runId)).length > 0);
    return runner;
  };

  await t.test('--approveAt waits before the step and goes on when approved', async () => {
    const runId = 'steer-approve';
    const runner = await startRunner(runId);
    const [pending] = await pendingOf(runId);
    assert.equal(pending.approvalId, 'step-3');
    assert.equal(pending.title, 'Go on with step 3 of 5?');
    const progress = (await storedEvents(url, runId)).filter((e) => e.type === 'task.progress');
    assert.ok(progress.every((e) => e.payload.step === undefined || e.payload.step < 3));
    await api(url, `/api/runs/${runId}/approvals/step-3`, { body: { decision: 'approve' } });
    const result = await runner.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /waiting for approval step-3/);
    assert.equal((await storedRun(url, runId)).status, 'completed');
  });

  await t.test('--approveAt fails the run at that step when denied', async () => {
    const runId = 'steer-deny';
    const runner = await startRunner(runId);
    await api(url, `/api/runs/${runId}/approvals/step-3`, {
      body: { decision: 'deny', note: 'not today' },
    });
    const result = await runner.exited;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /✖ error: Denied at step 3: not today/);
    const run = await storedRun(url, runId);
    assert.equal(run.status, 'error');
    assert.equal(run.errorMessage, 'Denied at step 3: not today');
  });

  await t.test(
    'a runner waiting on an approval gets the decision across a server crash',
    async (t) => {
      const dataDir = tempDir();
      let crashing = await startServer({ dataDir });
      t.after(async () => {
        await crashing.stop();
        rmSync(dataDir, { recursive: true, force: true });
      });
      const { port } = crashing;
      const runId = 'steer-crash';
      const runner = cliFor(t, [
        '--id',
        runId,
        '--steps',
        '5',
        '--interval',
        '20',
        '--approveAt',
        '2',
        '--server',
        crashing.url,
        '--retry-for',
        '30s',
      ]);
      const pending = async () =>
        (
          await api<any[]>(crashing.url, `/api/approvals?runId=${runId}`).catch(() => ({
            body: [],
          }))
        ).body;
      await waitFor('the runner to ask', async () => (await pending()).length > 0);
      await crashing.kill();
      crashing = await startServer({ dataDir, port });
      assert.equal((await pending())[0]?.approvalId, 'step-2', 'still pending after the crash');
      await api(crashing.url, `/api/runs/${runId}/approvals/step-2`, {
        body: { decision: 'approve', note: 'after the crash' },
      });
      const result = await runner.exited;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /approved: after the crash/);
      assert.equal((await storedRun(crashing.url, runId)).status, 'completed');
    },
  );

  await t.test('the runner logs each directive it receives and confirms it', async () => {
    const runId = 'steer-directive';
    const runner = await startRunner(runId);
    const sent = await say(runId, 'skip the flaky test');
    assert.equal(sent.status, 202);
    const delivered = await waitFor('the directive to be confirmed', async () =>
      (await storedEvents(url, runId)).find((e) => e.type === 'directive.delivered'),
    );
    assert.equal(delivered.payload.directiveId, sent.body.payload.directiveId);
    assert.equal(delivered.payload.message, 'Directive received: skip the flaky test');
    await api(url, `/api/runs/${runId}/approvals/step-3`, { body: { decision: 'approve' } });
    const result = await runner.exited;
    assert.equal(result.code, 0);
    assert.match(result.stderr, /directive: skip the flaky test/);
  });

  await t.test(
    'exec --stdin directives writes each directive as one line and confirms it',
    async () => {
      const runId = 'steer-exec';
      const exec = spawnCli([
        'exec',
        '--id',
        runId,
        '--stdin',
        'directives',
        ...connection,
        '--',
        process.execPath,
        '-e',
        ECHO_LINES,
      ]);
      t.after(() => exec.proc.kill('SIGKILL'));
      await exec.waitFor((stdout) => stdout.includes('run '), 'the command to start');
      assert.match(exec.stdout(), new RegExp(`run ${runId} on ${url.replace(/[.]/g, '\\.')}`));
      await waitFor(
        'the producer to attach',
        async () => (await storedRun(url, runId)).control?.producerAttached,
      );
      assert.equal((await storedRun(url, runId)).metadata.directives, 'stdin');
      const first = await say(runId, 'use the staging database\nplease');
      await exec.waitFor(
        (stdout) => stdout.includes('got: use the staging database please'),
        'the line',
      );
      await say(runId, 'done');
      const result = await exec.exited;
      assert.equal(result.code, 0, result.stderr);
      const delivered = (await storedEvents(url, runId)).filter(
        (e) => e.type === 'directive.delivered',
      );
      assert.equal(delivered.length, 2);
      assert.equal(delivered[0].payload.directiveId, first.body.payload.directiveId);
    },
  );

  await t.test(
    'without --stdin directives a directive is recorded, noted and not confirmed',
    async () => {
      const runId = 'steer-exec-none';
      const exec = spawnCli([
        'exec',
        '--id',
        runId,
        ...connection,
        '--',
        process.execPath,
        '-e',
        'setTimeout(() => {}, 60000)',
      ]);
      t.after(() => exec.proc.kill('SIGKILL'));
      await waitFor(
        'the producer to attach',
        async () => (await storedRun(url, runId)).control?.producerAttached,
      );
      assert.equal((await storedRun(url, runId)).metadata.directives, 'none');
      await say(runId, 'are you there?');
      await exec.waitFor(
        (_out, err) => err.includes('the command does not read directives'),
        'the note',
      );
      await api(url, `/api/runs/${runId}/stop`, { method: 'POST' });
      await exec.exited;
      const types = (await storedEvents(url, runId)).map((e) => e.type);
      assert.ok(types.includes('directive'));
      assert.ok(!types.includes('directive.delivered'));
    },
  );
});
