// Compaction of the run index on a full disk: a rewrite the disk refuses, even halfway, leaves the
// old index whole and no temp file behind; the server starts and answers, says it is degraded,
// and compacts once space is back. Nothing recorded is lost across a restart.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Health, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { startServer, type ServerHandle } from './helpers/server.ts';
import { diskSuite, mountSmallDisk } from './helpers/small-disk.ts';
import { waitFor } from './helpers/wait.ts';

const DISK_BYTES = 16 * 1024 * 1024;
const RUNS = 300;
/** Copies of every run's record: more than the 4 per run plus 10,000 that triggers compaction. */
const COPIES = 40;
/** Left free: less than the compacted index needs (about 300 records of a few hundred bytes). */
const LEFT_BYTES = 16 * 1024;

function indexLines(dataDir: string): string[] {
  return readFileSync(join(dataDir, 'runs.jsonl'), 'utf8').split('\n').filter(Boolean);
}

test(
  'compaction of the run index on a full disk',
  { ...diskSuite, timeout: 120_000 },
  async (t) => {
    const disk = mountSmallDisk(t, DISK_BYTES);
    const dataDir = join(disk.dir, 'data');
    const first = await startServer({ dataDir });
    let server: ServerHandle | undefined = first;
    t.after(() => server?.kill());
    let release = () => {};
    t.after(() => release());

    for (let i = 0; i < RUNS; i++) {
      const res = await api(first.url, '/api/runs', {
        body: { id: `run-${i}`, title: `run ${i}`, metadata: { i } },
      });
      assert.equal(res.status, 201, res.text.slice(0, 200));
    }
    assert.equal(
      (await api(first.url, '/api/runs/run-7/events', { body: { type: 'step' } })).status,
      201,
    );
    await first.stop();
    server = undefined;
    // A stale index: every record repeated, as thousands of checkpoints would leave it.
    const path = join(dataDir, 'runs.jsonl');
    const whole = readFileSync(path, 'utf8');
    for (let i = 0; i < COPIES; i++) appendFileSync(path, whole);
    const stale = readFileSync(path);
    assert.ok(indexLines(dataDir).length > 4 * RUNS + 10_000, 'enough records to compact');

    await t.test('a compaction the disk refuses halfway leaves the index whole', async () => {
      release = disk.fill(LEFT_BYTES);
      server = await startServer({ dataDir });
      assert.ok(readFileSync(path).equals(stale), 'runs.jsonl is byte for byte what it was');
      assert.equal(existsSync(`${path}.tmp`), false, 'no temp file is left behind');
    });

    await t.test('the server answers every run and says it is degraded', async () => {
      const run = await api<Run>(server!.url, '/api/runs/run-7');
      assert.equal(run.status, 200);
      assert.equal(run.body.title, 'run 7');
      assert.equal(run.body.lastSeq, 1);
      const list = await api<Run[]>(server!.url, `/api/runs?limit=${RUNS}`);
      assert.equal(list.body.length, RUNS);
      const health = await api<Health>(server!.url, '/health');
      assert.equal(health.body.status, 'degraded');
      assert.match(health.body.reason ?? '', /compaction.*(no space left|ENOSPC)/i);
    });

    await t.test('once space is back the index is compacted and /health is ok', async () => {
      release();
      await waitFor('the index to be compacted', () => indexLines(dataDir).length <= 4 * RUNS);
      await waitFor('/health to be ok', async () => {
        const res = await api<Health>(server!.url, '/health');
        return res.body.status === 'ok';
      });
      assert.equal(existsSync(`${path}.tmp`), false);
    });

    await t.test('after kill -9 and a restart every run is there', async () => {
      await server!.kill();
      server = await startServer({ dataDir });
      const list = await api<Run[]>(server.url, `/api/runs?limit=${RUNS}`);
      assert.equal(list.body.length, RUNS);
      const run = await api<Run>(server.url, '/api/runs/run-7');
      assert.equal(run.body.title, 'run 7');
      assert.deepEqual(run.body.metadata, { i: 7 });
      assert.equal(run.body.lastSeq, 1);
      assert.doesNotMatch(server.stderr(), /cut|damaged|skipped/);
    });
  },
);
