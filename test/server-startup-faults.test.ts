// Starting where things are not as they should be: a data directory that cannot be written is
// one clear line and exit 1; a lock held by a dead-but-unreaped process (a zombie) is taken over.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { CLI, serverFor, tempDir } from './helpers/server.ts';
import { diskSuite, mountSmallDisk } from './helpers/small-disk.ts';
import { waitFor } from './helpers/wait.ts';

function serveOnce(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir], {
    env: { ...process.env, AGENTOPS_API_KEY: undefined },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

test('server start-up faults', { timeout: 60_000 }, async (t) => {
  await t.test('a read-only data directory is one clear line and exit 1', diskSuite, async (t) => {
    const { dir } = mountSmallDisk(t, 1024 * 1024, { readOnly: true });
    // The directory itself, and one the server would have to make in it.
    for (const [dataDir, why] of [
      [dir, /read-only/],
      [join(dir, 'data'), /cannot be made/],
    ] as const) {
      const { code, stderr } = await serveOnce(dataDir);
      assert.equal(code, 1, stderr);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, got: ${stderr}`);
      assert.match(lines[0]!, /^agent-ops: cannot use the data directory /);
      assert.match(lines[0]!, why);
      assert.ok(lines[0]!.includes(dir), 'it names the directory');
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    }
  });

  await t.test('a lock held by a zombie process is taken over', async (t) => {
    // `sh` forks a short sleep, then becomes a long one, which never reaps it: a zombie.
    const holder = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    t.after(() => holder.kill('SIGKILL'));
    let out = '';
    holder.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const zombie = Number(await waitFor('the zombie pid', () => /^\d+\n/.exec(out)?.[0]));
    await waitFor('the process to be a zombie', () =>
      /\) Z /.test(execFileSync('cat', [`/proc/${zombie}/stat`], { encoding: 'utf8' })),
    );
    const dataDir = tempDir();
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'server.lock'), String(zombie));
    const server = await serverFor(t, { dataDir });
    assert.equal((await api(server.url, '/health')).status, 200);
  });
});
