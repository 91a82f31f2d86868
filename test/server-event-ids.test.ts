// A producer's event ids are recognised on retry however they are spelled and whatever the server
// went through: the store keeps a run's ids as 32-bit hashes of their stored bytes (rebuilt from
// the segment files after a restart, and only once the run is written to), so ids that need JSON
// escapes, ids in other scripts and two ids whose hashes collide must each find their own event.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentEvent, Health } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { serverFor, tempDir } from './helpers/server.ts';

const RUN = 'ids';
/** Two ids with the same 32-bit FNV-1a hash (found by search): only their records tell them apart. */
const COLLIDING = ['retry-1149599', 'retry-1312382'];
const IDS = [
  'plain-1',
  ...COLLIDING,
  'a "quoted" id with a back\\slash',
  'line\nbreak and\ttab',
  'idée',
  '事件-7',
  'emoji-🚀',
  'a'.repeat(200),
];

test('producer event ids', async (t) => {
  const dataDir = tempDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await serverFor(t, { dataDir });
  const post = (id: string) =>
    api<AgentEvent>(server.url, `/api/runs/${RUN}/events`, {
      body: { id, type: 'step', payload: { id } },
    });

  /** Every id answered 200 with the event first stored under it, and nothing stored twice. */
  const retriesFindTheirEvents = async (seqs: Map<string, number>) => {
    for (const id of IDS) {
      const res = await post(id);
      assert.equal(res.status, 200, `${JSON.stringify(id)}: ${res.text}`);
      assert.equal(res.body.id, id);
      assert.equal(res.body.seq, seqs.get(id));
      assert.deepEqual(res.body.payload, { id });
    }
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.body.store.events, IDS.length);
  };

  const seqs = new Map<string, number>();
  await t.test('each id is stored once, the colliding ones apart', async () => {
    for (const id of IDS) {
      const res = await post(id);
      assert.equal(res.status, 201, res.text);
      seqs.set(id, res.body.seq);
    }
    assert.deepEqual(
      [...seqs.values()],
      IDS.map((_, i) => i + 1),
    );
  });

  await t.test('a retry of each is answered with its own event', async () => {
    await retriesFindTheirEvents(seqs);
  });

  await t.test('after a clean restart and a read, a retry of each still is', async () => {
    await server.stop();
    assert.ok(existsSync(join(dataDir, 'clean-stop')), 'a clean stop is marked');
    server = await serverFor(t, { dataDir });
    assert.equal(existsSync(join(dataDir, 'clean-stop')), false, 'the start removed the mark');
    const read = await api<AgentEvent[]>(server.url, `/api/runs/${RUN}/events`);
    assert.deepEqual(
      read.body.map((event) => event.id),
      IDS,
    );
    await retriesFindTheirEvents(seqs);
  });

  await t.test('after kill -9 and a restart, a retry of each still is', async () => {
    await server.kill();
    assert.equal(existsSync(join(dataDir, 'clean-stop')), false, 'a crash leaves no mark');
    server = await serverFor(t, { dataDir });
    await retriesFindTheirEvents(seqs);
  });
});
