// Control requests to one run are decided one at a time: racing requests never both pass, and
// nothing is recorded after the run ended.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

const ROUNDS = 10;

test('control order', async (t) => {
  const server = await serverFor(t);
  const control = (id: string, action: string) =>
    api<Run>(server.url, `/api/runs/${id}/${action}`, { method: 'POST' });
  const types = async (id: string) =>
    (await api<AgentEvent[]>(server.url, `/api/runs/${id}/events`)).body.map((e) => e.type);

  await t.test('two stops at once: one 202, one 409, one run.stopped', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = `two-stops-${round}`;
      assert.equal((await api(server.url, '/api/runs', { body: { id } })).status, 201);
      const answers = await Promise.all([control(id, 'stop'), control(id, 'stop')]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [202, 409], `round ${round}`);
      const stored = await types(id);
      assert.deepEqual(
        stored.filter((type) => type === 'run.stopped'),
        ['run.stopped'],
      );
      assert.deepEqual(
        stored.filter((type) => type === 'run.stop_requested'),
        ['run.stop_requested'],
      );
    }
  });

  await t.test(
    'with a producer attached, two stops at once: one 202, one 409 naming the pending stop',
    async (t) => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = `two-stops-attached-${round}`;
        assert.equal((await api(server.url, '/api/runs', { body: { id } })).status, 201);
        const channel = await openSse(`${server.url}/api/runs/${id}/control`);
        t.after(() => channel.close());
        const answers = await Promise.all([control(id, 'stop'), control(id, 'stop')]);
        assert.deepEqual(answers.map((a) => a.status).sort(), [202, 409], `round ${round}`);
        const refused = answers.find((a) => a.status === 409)!;
        assert.match(
          (refused.body as unknown as { error: string }).error,
          /stop is already pending/,
        );
        const [message] = await channel.take(1);
        assert.equal(JSON.parse(message!.data).action, 'stop');
        const stored = await types(id);
        assert.deepEqual(
          stored.filter((type) => type === 'run.stop_requested'),
          ['run.stop_requested'],
        );
        channel.close();
      }
    },
  );

  await t.test('a pause racing a stop never records run.paused after run.stopped', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = `pause-stop-${round}`;
      assert.equal((await api(server.url, '/api/runs', { body: { id } })).status, 201);
      const [pause, stop] = await Promise.all([control(id, 'pause'), control(id, 'stop')]);
      assert.equal(stop.status, 202, `round ${round}`);
      assert.ok(pause.status === 202 || pause.status === 409, `pause answered ${pause.status}`);
      const stored = await types(id);
      const stoppedAt = stored.indexOf('run.stopped');
      assert.ok(stoppedAt >= 0);
      assert.deepEqual(stored.slice(stoppedAt + 1), [], `after run.stopped: ${stored}`);
      assert.equal((await api<Run>(server.url, `/api/runs/${id}`)).body.status, 'stopped');
    }
  });
});
