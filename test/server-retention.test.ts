// Retention drops whole old segments and says so to subscribers; the run index is compacted once it
// is mostly superseded snapshots, and everything survives a restart either way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentEvent, Health, Run } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor, startServer } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const events = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i + 1}`, type: 'task.progress' }));

test('retention and the run index', async (t) => {
  await t.test('retention drops the oldest runs’ segments until the store fits', async () => {
    const server = await serverFor(t, { args: ['--retention', '15'] });
    const { url } = server;
    assert.equal((await api(url, '/api/runs/old/events', { body: events(10, 'o') })).status, 201);
    assert.equal((await api(url, '/api/runs/new/events', { body: events(10, 'n') })).status, 201);
    await waitFor(
      'the store shrinks to the retention bound',
      async () => (await api<Health>(url, '/health')).body.store.events <= 15,
    );
    const old = await api<AgentEvent[]>(url, '/api/runs/old/events');
    assert.deepEqual(old.body, [], 'the old run’s only segment is gone');
    const kept = await api<AgentEvent[]>(url, '/api/runs/new/events');
    assert.equal(kept.body.length, 10, 'the newer run is untouched');
    const run = await api<Run>(url, '/api/runs/old');
    assert.equal(run.body.lastSeq, 10, 'the run and its counters stay');

    const stream = await openSse(`${url}/api/runs/old/stream?after=0`);
    const [truncated] = await stream.take(1);
    assert.equal(truncated!.event, 'truncated');
    assert.deepEqual(JSON.parse(truncated!.data), { firstSeq: 11 });
    await api(url, '/api/runs/old/events', { body: { type: 'after.retention' } });
    const [next] = await stream.take(1);
    stream.close();
    assert.equal(next!.id, '11', 'appending continues the seq');
  });

  await t.test('the run index is compacted and still right after a restart', async () => {
    const server = await startServer();
    t.after(() => server.stop());
    const { url, dataDir } = server;
    assert.equal((await api(url, '/api/runs', { body: { id: 'patched' } })).status, 201);
    const patches = 10_100;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < patches) {
          const i = next++;
          const res = await api(url, '/api/runs/patched', {
            method: 'PATCH',
            body: { metadata: { [`k${i % 50}`]: i } },
          });
          assert.equal(res.status, 200);
        }
      }),
    );
    await api(url, '/api/runs/patched/events', { body: events(3, 'p') });
    const lines = () => readFileSync(join(dataDir, 'runs.jsonl'), 'utf8').split('\n').length - 1;
    await waitFor('runs.jsonl is rewritten with one record per run', async () => lines() < 100);
    const before = (await api<Run>(url, '/api/runs/patched')).body;
    assert.equal(await server.stop(), 0);

    const again = await serverFor(t, { dataDir });
    const after = (await api<Run>(again.url, '/api/runs/patched')).body;
    assert.deepEqual(after.metadata, before.metadata);
    assert.equal(after.eventCount, 3);
    assert.equal(after.lastSeq, 3);
  });
});
