// Run control from the CLI's side: the runner holds the control channel and honours pause /
// resume / stop; `agent-ops pause|resume|stop` send the requests and report the outcome.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { cliFor, runCli, storedEvents, storedRun } from './helpers/cli.ts';
import { waitFor } from './helpers/wait.ts';
import { serverFor } from './helpers/server.ts';

test('run control (CLI)', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  const connection = ['--server', url];
  let counter = 0;

  /** A runner slow enough to be controlled, once the server shows it holding its channel. */
  const startRunner = async () => {
    const runId = `ctl-runner-${++counter}`;
    const runner = cliFor(t, [...connection, '--id', runId, '--steps', '200', '--interval', '50']);
    await waitFor('the runner to attach to its control channel', async () => {
      const res = await api(url, `/api/runs/${runId}`);
      return res.body?.control?.producerAttached === true ? true : undefined;
    });
    return { runId, runner };
  };
  const statusOf = async (runId: string) => (await storedRun(url, runId)).status as string;
  const waitForStatus = (runId: string, status: string) =>
    waitFor(`run ${runId} to be ${status}`, async () =>
      (await statusOf(runId)) === status ? true : undefined,
    );

  await t.test('pause, resume and stop from the API reach a running runner', async () => {
    const { runId, runner } = await startRunner();

    const paused = await api(url, `/api/runs/${runId}/pause`, {
      method: 'POST',
      body: { reason: 'look closer' },
    });
    assert.equal(paused.status, 202, paused.text);
    await waitForStatus(runId, 'paused');
    // While paused, the runner takes no step: nothing more is stored.
    const { lastSeq } = await storedRun(url, runId);
    await sleep(400);
    assert.equal((await storedRun(url, runId)).lastSeq, lastSeq, 'no step while paused');

    await api(url, `/api/runs/${runId}/resume`, { method: 'POST' });
    await waitForStatus(runId, 'running');
    await waitFor('steps to go on after resume', async () =>
      (await storedRun(url, runId)).lastSeq > lastSeq + 2 ? true : undefined,
    );

    await api(url, `/api/runs/${runId}/stop`, { method: 'POST', body: { reason: 'enough' } });
    const result = await runner.exited;
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stdout, /stopped by request \(enough\)/);

    const run = await storedRun(url, runId);
    assert.equal(run.status, 'stopped');
    assert.equal(run.control.producerAttached, false);
    const events = await storedEvents(url, runId);
    const control = events.filter((event) =>
      /^run\.(pause|resume|stop|paused|resumed|stopped)/.test(event.type),
    );
    assert.deepEqual(
      control.map((event) => [event.type, event.payload.reason, event.payload.by]),
      [
        ['run.pause_requested', 'look closer', undefined],
        ['run.paused', 'look closer', 'producer'],
        ['run.resume_requested', undefined, undefined],
        ['run.resumed', undefined, 'producer'],
        ['run.stop_requested', 'enough', undefined],
        ['run.stopped', 'enough', 'producer'],
      ],
    );
    assert.equal(events.at(-1).type, 'run.stopped', 'nothing after run.stopped');
    const pausedAt = events.findIndex((event) => event.type === 'run.paused');
    const resumedAt = events.findIndex((event) => event.type === 'run.resumed');
    assert.deepEqual(
      events.slice(pausedAt + 1, resumedAt).map((event) => event.type),
      ['run.resume_requested'],
      'no step between run.paused and run.resumed',
    );
  });

  await t.test('the pause, resume and stop commands wait for the confirmation', async () => {
    const { runId, runner } = await startRunner();

    const paused = await runCli(['pause', runId, ...connection, '--reason', 'from a script']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout, `${runId} paused: confirmed by its producer\n`);

    const resumed = await runCli(['resume', runId, ...connection, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const run = JSON.parse(resumed.stdout);
    assert.equal(run.status, 'running');
    assert.equal(run.id, runId);
    assert.equal(run.control.producerAttached, true);
    assert.match(run.url, new RegExp(runId));

    const stopped = await runCli(['stop', runId, ...connection]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, `${runId} stopped: confirmed by its producer\n`);
    assert.equal((await runner.exited).code, 4);
  });

  await t.test('illegal transitions exit 1 naming the status', async () => {
    const { runId, runner } = await startRunner();
    const early = await runCli(['resume', runId, ...connection]);
    assert.equal(early.code, 1, early.stdout);
    assert.match(early.stderr, /cannot resume run "ctl-runner-\d+": its status is running/);
    assert.equal((await runCli(['pause', runId, ...connection])).code, 0);
    const again = await runCli(['pause', runId, ...connection]);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^agent-ops: cannot pause run "ctl-runner-\d+": its status is paused; pause is allowed from running\n$/,
    );

    assert.equal((await runCli(['stop', runId, ...connection])).code, 0);
    assert.equal((await runner.exited).code, 4);
    for (const action of ['pause', 'resume', 'stop']) {
      const ended = await runCli([action, runId, ...connection]);
      assert.equal(ended.code, 1);
      assert.match(ended.stderr, /its status is stopped/);
    }
  });

  await t.test('a run with no producer attached is stopped by the server', async () => {
    const started = await runCli(['start', ...connection, '--title', 'scripted']);
    assert.equal(started.code, 0, started.stderr);
    const runId = started.stdout.trim();
    assert.equal((await storedRun(url, runId)).control?.producerAttached ?? false, false);

    const stopped = await runCli(['stop', runId, ...connection, '--reason', 'cleanup']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(
      stopped.stdout,
      `${runId} stopped: applied by the server: no producer is attached\n`,
    );
    const events = await storedEvents(url, runId);
    assert.deepEqual(events.at(-1).payload, { reason: 'cleanup', by: 'server' });
    assert.equal((await storedRun(url, runId)).status, 'stopped');
  });

  await t.test('an unknown run exits 1, a missing id 2, an unreachable server 3', async () => {
    const unknown = await runCli(['pause', 'no-such-run', ...connection]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no run "no-such-run" on http/);

    const missing = await runCli(['stop', ...connection]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing <runId>\nRun agent-ops stop --help/);

    const down = await runCli([
      'resume',
      'x',
      '--server',
      'http://127.0.0.1:9',
      '--retry-for',
      '0',
    ]);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach the server/);
  });
});
