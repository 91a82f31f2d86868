// Black-box specification of lost producers: control.detachedAt, --lost-after, leases, the
// server's run.error {reason: "producer-lost"}, runs that never expire, and restarts.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { AgentEvent, Run } from '../shared/types.ts';
import { runCli, spawnCli, storedEvents, storedRun } from './helpers/cli.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor, startServer, tempDir } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

/** Short, so "eventually lost" comes quickly; no assertion depends on how long it takes. */
const LOST_AFTER = '400ms';

test('lost producers', async (t) => {
  const patient = await serverFor(t);
  const quick = await serverFor(t, { args: ['--lost-after', LOST_AFTER] });
  let counter = 0;
  const create = async (url: string, body: object = {}): Promise<Run> => {
    const res = await api<Run>(url, '/api/runs', { body: { id: `lost-${++counter}`, ...body } });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  const attach = async (url: string, runId: string) => {
    const channel = await openSse(`${url}/api/runs/${runId}/control`);
    t.after(() => channel.close());
    await waitFor('the producer to be attached', async () => {
      return (await storedRun(url, runId)).control?.producerAttached === true;
    });
    return channel;
  };
  const lastEvent = async (url: string, runId: string): Promise<AgentEvent> =>
    (await storedEvents(url, runId)).at(-1);
  const untilLost = (url: string, runId: string) =>
    waitFor(`run ${runId} to be lost`, async () => {
      const run = await storedRun(url, runId);
      return run.status === 'error' ? run : undefined;
    });

  await t.test(
    'closing the control channel sets control.detachedAt; reconnecting clears it',
    async () => {
      const run = await create(patient.url);
      const channel = await attach(patient.url, run.id);
      assert.equal((await storedRun(patient.url, run.id)).control.detachedAt, undefined);
      channel.close();
      const detached = await waitFor('detachedAt', async () => {
        const current = await storedRun(patient.url, run.id);
        return current.control.detachedAt ? current : undefined;
      });
      assert.equal(detached.control.producerAttached, false);
      assert.ok(Date.parse(detached.control.detachedAt) > 0);
      await attach(patient.url, run.id);
      const back = await storedRun(patient.url, run.id);
      assert.equal(back.control.detachedAt, undefined);
      assert.equal(back.status, 'running');
    },
  );

  await t.test('a lease is on the run, and every event moves its expiry', async () => {
    const run = await create(patient.url, { lease: 1800 });
    assert.equal(run.lease?.seconds, 1800);
    const first = Date.parse(run.lease!.expiresAt);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await api(patient.url, `/api/runs/${run.id}/events`, { body: { type: 'step' } });
    const moved = await storedRun(patient.url, run.id);
    assert.ok(Date.parse(moved.lease.expiresAt) > first, JSON.stringify(moved.lease));
  });

  await t.test('bad leases are refused, naming the field', async () => {
    for (const lease of [0, -5, 1.5, 'an hour', 31 * 86_400]) {
      const res = await api(quick.url, '/api/runs', { body: { lease } });
      assert.equal(res.status, 400, res.text);
      assert.match(
        res.body.error,
        /^lease must be a whole number of seconds from 1 to 2592000; got /,
      );
    }
  });

  await t.test(
    'a detached run is ended by the server as producer-lost after --lost-after',
    async () => {
      const run = await create(quick.url);
      const channel = await attach(quick.url, run.id);
      channel.close();
      const lost = await untilLost(quick.url, run.id);
      assert.match(lost.errorMessage, /^producer lost: /);
      const event = await lastEvent(quick.url, run.id);
      assert.equal(event.type, 'run.error');
      assert.equal(event.payload.reason, 'producer-lost');
      assert.equal(event.payload.by, 'server');
    },
  );

  await t.test('a run with neither channel nor lease never expires', async () => {
    const plain = await create(quick.url);
    const detached = await create(quick.url);
    (await attach(quick.url, detached.id)).close();
    // The detached run, made later, is lost; the plain one has waited longer and is not.
    await untilLost(quick.url, detached.id);
    assert.equal((await storedRun(quick.url, plain.id)).status, 'running');
  });

  await t.test('a lease that passes with no event ends the run as producer-lost', async () => {
    const run = await create(quick.url, { lease: 1 });
    const lost = await untilLost(quick.url, run.id);
    assert.match(lost.errorMessage, /^producer lost: its lease of 1 s passed/);
    assert.equal((await lastEvent(quick.url, run.id)).payload.reason, 'producer-lost');
  });

  await t.test('start --lease puts a lease on the run', async () => {
    const result = await runCli(['start', '--server', quick.url, '--lease', '30m', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).lease.seconds, 1800);
    const bad = await runCli(['start', '--server', quick.url, '--lease', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--lease must be a duration like 250ms, 5s, 2m or 1h/);
  });

  const producers: Array<[string, (id: string) => string[]]> = [
    [
      'exec',
      (id) => [
        'exec',
        '--id',
        id,
        '--server',
        quick.url,
        '--',
        process.execPath,
        '-e',
        'setInterval(() => {}, 1000)',
      ],
    ],
    [
      'the runner',
      (id) => ['run', '--id', id, '--server', quick.url, '--steps', '100000', '--interval', '200'],
    ],
  ];
  for (const [name, argv] of producers) {
    await t.test(
      `${name} killed with kill -9: not lost while attached, lost after the window`,
      async () => {
        const id = `killed-${++counter}`;
        const producer = spawnCli(argv(id));
        t.after(() => producer.proc.kill('SIGKILL'));
        await waitFor('the producer to attach', async () => {
          const run = await storedRun(quick.url, id).catch(() => undefined);
          if (run?.control?.producerAttached === true) return true;
          throw new Error(`${JSON.stringify(run)} ${producer.stderr()}`);
        });
        const started = (await storedEvents(quick.url, id)).find((e) => e.type === 'run.started');
        const childPid = started?.payload.pid;
        if (name === 'exec' && typeof childPid === 'number')
          t.after(() => {
            try {
              process.kill(-childPid, 'SIGKILL'); // exec's command outlives a kill -9 of exec
            } catch {
              // already gone
            }
          });
        // Another run, detached now, is lost after the window; the attached one meanwhile is not.
        const witness = await create(quick.url);
        (await attach(quick.url, witness.id)).close();
        await untilLost(quick.url, witness.id);
        const alive = await storedRun(quick.url, id);
        assert.equal(alive.status, 'running');
        assert.equal(alive.control.producerAttached, true);

        producer.proc.kill('SIGKILL');
        const lost = await untilLost(quick.url, id);
        assert.match(lost.errorMessage, /^producer lost: /);
        assert.equal((await lastEvent(quick.url, id)).payload.reason, 'producer-lost');
      },
    );
  }

  await t.test('a restart never ends a run: every timer starts afresh', async () => {
    const dataDir = tempDir();
    let server = await startServer({ dataDir, args: ['--lost-after', '60s'] });
    t.after(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const attached = await create(server.url);
    await attach(server.url, attached.id);
    const leased = await create(server.url, { lease: 3600 });
    await server.kill();
    const restartedAt = Date.now();
    server = await startServer({ dataDir, args: ['--lost-after', '60s'] });
    const after = await storedRun(server.url, attached.id);
    assert.equal(after.status, 'running');
    assert.equal(after.control.producerAttached, false);
    assert.ok(Date.parse(after.control.detachedAt) >= restartedAt - 1000, after.control.detachedAt);
    const lease = await storedRun(server.url, leased.id);
    assert.equal(lease.status, 'running');
    assert.ok(Date.parse(lease.lease.expiresAt) >= restartedAt + 3_500_000, lease.lease.expiresAt);
  });
});
