// Options every command shares: given before the command word, and durations with units.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { runCli, storedRun } from './helpers/cli.ts';
import { serverFor } from './helpers/server.ts';

test('agent-ops global options and durations', async (t) => {
  const server = await serverFor(t);

  await t.test('global options may come before the command, as git and kubectl allow', async () => {
    // No AGENTOPS_SERVER: only the leading --server can have found the server.
    const started = await runCli([
      '--server',
      server.url,
      '--json',
      'start',
      '--id',
      'opts-before',
    ]);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(JSON.parse(started.stdout).id, 'opts-before');

    const listed = await runCli([`--server=${server.url}`, '--retry-for', '2s', 'ls', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(JSON.parse(listed.stdout).some((run: { id: string }) => run.id === 'opts-before'));

    const finished = await runCli(['--server', server.url, 'finish', 'opts-before']);
    assert.equal(finished.code, 0, finished.stderr);
    assert.equal((await storedRun(server.url, 'opts-before')).status, 'completed');
  });

  await t.test('the runner still takes its own options first, with no command word', async () => {
    const result = await runCli([
      '--server',
      server.url,
      '--steps',
      '2',
      '--interval',
      '0',
      '--id',
      'opts-runner',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await storedRun(server.url, 'opts-runner')).status, 'completed');
  });

  await t.test('durations take units, and a bare number keeps the unit it always had', async () => {
    const env = { AGENTOPS_SERVER: server.url };
    for (const args of [
      ['--steps', '2', '--interval', '5ms', '--retry-for', '1m', '--id', 'opts-units'],
      ['--steps', '2', '--interval', '5', '--retry-for', '60', '--id', 'opts-bare'],
      ['exec', '--grace', '1.5s', '--retry-for', '30s', '--', process.execPath, '-e', ''],
      ['exec', '--grace', '2', '--', process.execPath, '-e', ''],
    ]) {
      const result = await runCli(args, env);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
    const started = await runCli(['start', '--id', 'opts-wait'], env);
    assert.equal(started.code, 0, started.stderr);
    const paused = await runCli(['pause', 'opts-wait', '--wait', '500ms'], env);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal((await storedRun(server.url, 'opts-wait')).status, 'paused');
  });

  await t.test(
    'a --server that is not an agent-ops server is named as such, never as a bug',
    async () => {
      // Some other web app on that port: HTML 404s, as most servers answer an unknown path.
      const other = createServer((_req, res) => {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      });
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      for (const args of [['ls'], ['start'], ['--steps', '1']]) {
        const result = await runCli(['--server', url, ...args]);
        assert.equal(result.code, 1, args.join(' '));
        assert.match(
          result.stderr,
          /is --server an agent-ops server\? Start one with "agent-ops serve"\n$/,
        );
        assert.doesNotMatch(result.stderr, /bug/);
      }
    },
  );

  await t.test('--retry-for in units bounds how long an absent server is retried', async () => {
    // Port 9 has no server; "after retrying for 0.3 s" shows the unit was read as written.
    const result = await runCli(['ls', '--retry-for', '300ms'], {
      AGENTOPS_SERVER: 'http://127.0.0.1:9',
    });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /after retrying for 0\.3 s/);
  });
});
