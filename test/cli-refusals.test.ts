// The CLI when the server answers but refuses: a deleted run is named as deleted (exit 1), and a
// server that cannot write says so in its own words, never "cannot reach the server".
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { runCli } from './helpers/cli.ts';
import { serverFor } from './helpers/server.ts';
import { diskSuite, mountSmallDisk } from './helpers/small-disk.ts';

test('cli refusals', { timeout: 60_000 }, async (t) => {
  await t.test('emit to a run deleted mid-run says so and exits 1', async (t) => {
    const server = await serverFor(t);
    assert.equal((await api(server.url, '/api/runs', { body: { id: 'gone-run' } })).status, 201);
    assert.equal((await api(server.url, '/api/runs/gone-run', { method: 'DELETE' })).status, 204);
    const result = await runCli(['emit', 'gone-run', 'step', '--server', server.url]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /410.*deleted/);
    assert.doesNotMatch(result.stderr, /bug/);
  });

  await t.test(
    'a full disk: the CLI says the server refused the write, and why',
    diskSuite,
    async (t) => {
      const disk = mountSmallDisk(t, 4 * 1024 * 1024);
      const server = await serverFor(t, { dataDir: join(disk.dir, 'data') });
      assert.equal((await api(server.url, '/api/runs', { body: { id: 'full' } })).status, 201);
      const release = disk.fill(0);
      t.after(release);
      const payload = JSON.stringify({ text: 'z'.repeat(64 * 1024) });
      const result = await runCli([
        'emit',
        'full',
        'big',
        '--payload',
        payload,
        '--server',
        server.url,
        '--retry-for',
        '1',
      ]);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /refused .*503.*disk is full/);
      assert.doesNotMatch(result.stderr, /cannot reach/);
    },
  );
});
