// A full disk: a write the disk refuses, even halfway, is answered 503 with Retry-After and leaves
// nothing behind; nothing acknowledged before or after it is lost, across a kill -9.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Health, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { startServer, type ServerHandle } from './helpers/server.ts';
import { diskSuite, mountSmallDisk } from './helpers/small-disk.ts';

const DISK_BYTES = 8 * 1024 * 1024;
/** Left free when the disk is "full": less than any of the large writes below needs. */
const LEFT_BYTES = 64 * 1024;
const LARGE_TEXT = 'x'.repeat(600 * 1024);

test('a full disk', { ...diskSuite, timeout: 120_000 }, async (t) => {
  const disk = mountSmallDisk(t, DISK_BYTES);
  const dataDir = join(disk.dir, 'data');
  let server: ServerHandle = await startServer({ dataDir });
  t.after(() => server.kill());
  let release = () => {};
  t.after(() => release());

  const created = await api<Run>(server.url, '/api/runs', {
    body: { id: 'before', title: 'before', metadata: { keep: 'me' } },
  });
  assert.equal(created.status, 201);
  const acked = await api(server.url, '/api/runs/before/events', { body: { type: 'step' } });
  assert.equal(acked.status, 201);

  await t.test('an event to an unknown run that does not fit makes no run', async () => {
    release = disk.fill(LEFT_BYTES);
    const res = await api(server.url, '/api/runs/ghost/events', {
      body: { type: 'big', payload: { text: LARGE_TEXT } },
    });
    assert.equal(res.status, 503, res.text.slice(0, 200));
    assert.equal((await api(server.url, '/api/runs/ghost')).status, 404);
  });

  await t.test('a run record that does not fit is refused with 503 and Retry-After', async () => {
    const res = await api(server.url, '/api/runs', {
      body: { id: 'big', metadata: { text: LARGE_TEXT } },
    });
    assert.equal(res.status, 503, res.text.slice(0, 200));
    assert.ok(res.headers.get('retry-after'), 'Retry-After is set');
    assert.match(res.body.error, /no space left|ENOSPC/i);
    assert.equal((await api(server.url, '/api/runs/big')).status, 404);
  });

  await t.test('a patch that does not fit is refused and changes nothing', async () => {
    const res = await api(server.url, '/api/runs/before', {
      method: 'PATCH',
      body: { title: 'patched while full', metadata: { text: LARGE_TEXT } },
    });
    assert.equal(res.status, 503, res.text.slice(0, 200));
    const run = await api<Run>(server.url, '/api/runs/before');
    assert.equal(run.body.title, 'before');
    assert.deepEqual(run.body.metadata, { keep: 'me' });
  });

  await t.test('events that do not fit are refused and consume no seq', async () => {
    const batch = Array.from({ length: 4 }, () => ({
      type: 'big',
      payload: { text: LARGE_TEXT.slice(0, 200 * 1024) },
    }));
    const res = await api(server.url, '/api/runs/before/events', { body: batch });
    assert.equal(res.status, 503, res.text.slice(0, 200));
    assert.equal((await api<Run>(server.url, '/api/runs/before')).body.lastSeq, 1);
  });

  await t.test('a small write of another kind that succeeds does not clear degraded', async () => {
    const small = await api(server.url, '/api/runs', { body: { id: 'small' } });
    assert.equal(small.status, 201, small.text.slice(0, 200));
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.body.status, 'degraded');
    assert.match(health.body.reason ?? '', /events/);
  });

  await t.test('/health says degraded while writes fail', async () => {
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.status, 503);
    assert.equal(health.body.status, 'degraded');
    assert.match(health.body.reason ?? '', /no space left|ENOSPC/i);
  });

  const deleteAnswer = await (async () => {
    // With no space at all a delete may or may not fit in the index file's last page; either
    // answer is fine as long as the store agrees with it after a restart.
    const fullyFull = disk.fill(0);
    const res = await api(server.url, '/api/runs/before', { method: 'DELETE' });
    fullyFull();
    return res.status;
  })();
  assert.ok(deleteAnswer === 204 || deleteAnswer === 503, `DELETE answered ${deleteAnswer}`);

  await t.test('once space is back, writes are accepted again and /health is ok', async () => {
    release();
    const after = await api(server.url, '/api/runs', { body: { id: 'after', title: 'after' } });
    assert.equal(after.status, 201, after.text.slice(0, 200));
    const big = await api(server.url, '/api/runs/after/events', {
      body: { type: 'big', payload: { text: LARGE_TEXT } },
    });
    assert.equal(big.status, 201, big.text.slice(0, 200));
    const done = await api(server.url, '/api/runs/after/events', {
      body: { type: 'run.completed' },
    });
    assert.equal(done.status, 201);
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.body.status, 'ok', health.body.reason);
  });

  await t.test('after kill -9 and a restart every acknowledged record is there', async () => {
    await server.kill();
    server = await startServer({ dataDir });
    const after = await api<Run>(server.url, '/api/runs/after');
    assert.equal(after.status, 200);
    assert.equal(after.body.status, 'completed');
    assert.equal(after.body.lastSeq, 2);
    assert.equal((await api(server.url, '/api/runs/big')).status, 404);
    assert.equal((await api(server.url, '/api/runs/ghost')).status, 404);
    const before = await api<Run>(server.url, '/api/runs/before');
    if (deleteAnswer === 503) {
      assert.equal(before.status, 200);
      assert.equal(before.body.title, 'before');
      assert.equal(before.body.lastSeq, 2);
    }
    // Every line of the run index is a whole record: nothing half-written was left in it.
    const lines = readFileSync(join(dataDir, 'runs.jsonl'), 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line.slice(0, 80));
    assert.doesNotMatch(server.stderr(), /cut|damaged|skipped/);
  });
});
