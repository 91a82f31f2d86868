// Black-box specification of run control on the server: the pause / resume / stop routes, their
// allowed transitions, the request events, `control.pending`, and the producer control channel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

test('run control', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  let counter = 0;

  const createRun = async (status = 'running'): Promise<Run> => {
    const res = await api<Run>(url, '/api/runs', { body: { id: `ctl-${++counter}`, status } });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  const control = (id: string, action: string, body?: unknown) =>
    api<Run & { error: string }>(url, `/api/runs/${id}/${action}`, { method: 'POST', body });
  const types = async (id: string) =>
    (await api<AgentEvent[]>(url, `/api/runs/${id}/events`)).body.map((e) => [e.type, e.payload]);
  const getRun = async (id: string) => (await api<Run>(url, `/api/runs/${id}`)).body;

  await t.test('with no producer attached the server applies the change and says so', async () => {
    const run = await createRun();
    const paused = await control(run.id, 'pause', { reason: 'lunch' });
    assert.equal(paused.status, 202, paused.text);
    assert.equal(paused.body.status, 'paused');
    assert.equal(paused.body.control?.pending, undefined);
    const resumed = await control(run.id, 'resume');
    assert.equal(resumed.body.status, 'running');
    const stopped = await control(run.id, 'stop');
    assert.equal(stopped.body.status, 'stopped');
    assert.ok(stopped.body.endedAt);
    assert.deepEqual(await types(run.id), [
      ['run.pause_requested', { reason: 'lunch' }],
      ['run.paused', { reason: 'lunch', by: 'server' }],
      ['run.resume_requested', {}],
      ['run.resumed', { by: 'server' }],
      ['run.stop_requested', {}],
      ['run.stopped', { by: 'server' }],
    ]);
  });

  await t.test('a queued run can be stopped', async () => {
    const run = await createRun('queued');
    const res = await control(run.id, 'stop');
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'stopped');
  });

  const illegal: Array<[string, string, RegExp]> = [
    ['queued', 'pause', /cannot pause run "ctl-\d+": its status is queued/],
    ['running', 'resume', /cannot resume run "ctl-\d+": its status is running/],
    ['completed', 'pause', /its status is completed/],
    ['completed', 'stop', /cannot stop run "ctl-\d+": its status is completed/],
    ['error', 'resume', /its status is error/],
    ['stopped', 'stop', /its status is stopped/],
  ];
  for (const [status, action, message] of illegal) {
    await t.test(`${action} of a ${status} run is 409 naming the status`, async () => {
      const run = await createRun(status);
      const res = await control(run.id, action);
      assert.equal(res.status, 409);
      assert.match(res.body.error, message);
      assert.equal((await getRun(run.id)).eventCount, 0, 'a refused request records nothing');
    });
  }

  await t.test('unknown runs are 404, bad bodies 400', async () => {
    assert.equal((await control('nope', 'pause')).status, 404);
    assert.equal((await api(url, '/api/runs/nope/control')).status, 404);
    const run = await createRun();
    const bad = await control(run.id, 'pause', { reason: 5 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /reason must be a string; got 5/);
    const extra = await control(run.id, 'pause', { why: 'x' });
    assert.equal(extra.status, 400);
    assert.equal((await api(url, `/api/runs/${run.id}/pause`)).status, 405);
  });

  await t.test('a producer on the control channel hears the request and confirms it', async () => {
    const run = await createRun();
    const channel = await openSse(`${url}/api/runs/${run.id}/control`);
    assert.equal(channel.status, 200);
    assert.equal((await getRun(run.id)).control?.producerAttached, true);

    const requested = await control(run.id, 'pause', { reason: 'look' });
    assert.equal(requested.status, 202);
    assert.equal(requested.body.status, 'running', 'the status waits for the producer');
    assert.deepEqual(requested.body.control, { pending: 'pause', producerAttached: true });
    const [message] = await channel.take(1);
    assert.deepEqual(JSON.parse(message!.data), { action: 'pause', reason: 'look' });

    await api(url, `/api/runs/${run.id}/events`, { body: { type: 'run.paused' } });
    const paused = await getRun(run.id);
    assert.equal(paused.status, 'paused');
    assert.equal(paused.control?.pending, undefined);

    await control(run.id, 'stop');
    const [stop] = await channel.take(1);
    assert.equal(JSON.parse(stop!.data).action, 'stop');
    channel.close();
    await waitFor(
      'the producer to be detached',
      async () => (await getRun(run.id)).control?.producerAttached === false,
    );
  });

  await t.test('a reconnecting producer gets a pending request unless it has seen it', async () => {
    const run = await createRun();
    const first = await openSse(`${url}/api/runs/${run.id}/control`);
    await control(run.id, 'pause');
    const [seen] = await first.take(1);
    first.close();

    const fresh = await openSse(`${url}/api/runs/${run.id}/control`);
    const [again] = await fresh.take(1);
    assert.equal(JSON.parse(again!.data).action, 'pause');
    assert.equal(again!.id, seen!.id);
    fresh.close();

    const resumed = await openSse(`${url}/api/runs/${run.id}/control`, {
      'last-event-id': seen!.id!,
    });
    await api(url, `/api/runs/${run.id}/events`, { body: { type: 'run.paused' } });
    await control(run.id, 'resume');
    const [next] = await resumed.take(1);
    resumed.close();
    assert.equal(JSON.parse(next!.data).action, 'resume', 'the pause it saw is not sent twice');
  });
});
