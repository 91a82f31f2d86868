// Safe by default: only names the server was told it serves are answered (DNS rebinding gets 421),
// no other web page is granted CORS unless --cors-origin names it, and a server reachable from the
// network without a key refuses to start unless told so out loud.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { runCli } from './helpers/cli.ts';
import { api } from './helpers/http.ts';
import { serverFor, tempDir } from './helpers/server.ts';

/** A request with headers fetch will not let a test set (Host). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('safe defaults', { timeout: 60_000 }, async (t) => {
  const server = await serverFor(t, {
    args: ['--allow-host', 'agents.example.test', '--cors-origin', 'https://ui.example.test'],
  });
  const port = server.port;

  await t.test('the names it serves are answered, any other Host gets 421', async () => {
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      'agents.example.test',
    ])
      assert.equal((await raw(server.url, 'GET', '/api/runs', { host })).status, 200, host);
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.2:${port}`]) {
      const res = await raw(server.url, 'GET', '/api/runs', { host });
      assert.equal(res.status, 421, host);
      assert.match(JSON.parse(res.text).error, /not a name this server answers to.*--allow-host/);
    }
    assert.equal((await raw(server.url, 'GET', '/', { host: 'evil.example' })).status, 421);
  });

  await t.test('no CORS grant for an origin not named with --cors-origin', async () => {
    const res = await api(server.url, '/api/runs', { headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const preflight = await api(server.url, '/api/runs/x', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    const deleted = await api(server.url, '/api/runs/x', {
      method: 'DELETE',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(deleted.status, 403);
  });

  await t.test(
    'the origin named with --cors-origin is granted, and same-origin needs none',
    async () => {
      const granted = await api(server.url, '/api/runs', {
        headers: { origin: 'https://ui.example.test' },
      });
      assert.equal(granted.status, 200);
      assert.equal(granted.headers.get('access-control-allow-origin'), 'https://ui.example.test');
      const same = await api(server.url, '/api/runs', {
        method: 'POST',
        body: { id: 'same-origin' },
        headers: { origin: server.url },
      });
      assert.equal(same.status, 201);
    },
  );

  await t.test('listening beyond loopback without a key refuses to start', async () => {
    const dataDir = tempDir();
    const result = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--data', dataDir]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /without an API key.*--insecure-no-key/);
  });

  await t.test('--insecure-no-key says so out loud and starts', async (t) => {
    const open = await serverFor(t, { args: ['--host', '0.0.0.0', '--insecure-no-key'] });
    assert.match(open.stderr(), /warning: .*no API key/);
    assert.equal((await api(open.url, '/health')).status, 200);
  });
});
