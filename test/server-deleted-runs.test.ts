// A run deleted while its producer still posts: the producer is told 410 Gone (the run log keeps a
// tombstone, across restarts), and the run is not silently re-created.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { serverFor, tempDir } from './helpers/server.ts';

test('deleted runs', async (t) => {
  const dataDir = tempDir();
  let server = await serverFor(t, { dataDir });
  const post = (id: string, body: unknown) => api(server.url, `/api/runs/${id}/events`, { body });

  await t.test('events to a deleted run are 410 Gone and make no run', async () => {
    assert.equal(
      (await api(server.url, '/api/runs', { body: { id: 'doomed', title: 'T' } })).status,
      201,
    );
    assert.equal((await post('doomed', { type: 'step' })).status, 201);
    assert.equal((await api(server.url, '/api/runs/doomed', { method: 'DELETE' })).status, 204);
    const single = await post('doomed', { type: 'step' });
    assert.equal(single.status, 410, single.text);
    assert.match(single.body.error, /run "doomed" was deleted/);
    const batch = await post('doomed', [{ type: 'a' }, { type: 'b' }]);
    assert.equal(batch.status, 410, batch.text);
    assert.equal((await api(server.url, '/api/runs/doomed')).status, 404);
  });

  await t.test('the tombstone survives a restart', async () => {
    await server.stop();
    server = await serverFor(t, { dataDir });
    assert.equal((await post('doomed', { type: 'step' })).status, 410);
  });

  await t.test('creating the run again on purpose reuses the id', async () => {
    assert.equal((await api(server.url, '/api/runs', { body: { id: 'doomed' } })).status, 201);
    const res = await post('doomed', { type: 'step' });
    assert.equal(res.status, 201);
    assert.equal(res.body.seq, 1);
  });
});
