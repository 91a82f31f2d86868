// Black-box specification of the API key: with AGENTOPS_API_KEY set, nothing under /api/* or
// /health is readable or writable without it; a CORS preflight (from a --cors-origin) and the static files need none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Run } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

const KEY = 's3cret-key-for-tests';
const RUN = 'guarded';

interface Route {
  method: string;
  path: string;
  body?: unknown;
}

const routes: Route[] = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/api/runs' },
  { method: 'POST', path: '/api/runs', body: { id: 'sneaky-run' } },
  { method: 'GET', path: `/api/runs/${RUN}` },
  { method: 'PATCH', path: `/api/runs/${RUN}`, body: { title: 'defaced' } },
  { method: 'DELETE', path: `/api/runs/${RUN}` },
  { method: 'POST', path: `/api/runs/${RUN}/events`, body: { id: 'sneaky-event', type: 'x' } },
  { method: 'POST', path: '/api/runs/sneaky-by-event/events', body: { type: 'x' } },
  { method: 'GET', path: `/api/runs/${RUN}/events` },
  { method: 'GET', path: `/api/runs/${RUN}/events?format=ndjson` },
  { method: 'GET', path: `/api/runs/${RUN}/stream` },
  { method: 'GET', path: '/api/stream' },
  { method: 'GET', path: '/api/runs/unknown-run' },
  { method: 'GET', path: '/api/no-such-route' },
];

const refusals: { name: string; headers: Record<string, string> }[] = [
  { name: 'no key', headers: {} },
  { name: 'a wrong x-api-key', headers: { 'x-api-key': 'wrong' } },
  { name: 'the key with one character more', headers: { 'x-api-key': `${KEY}x` } },
  { name: 'the key with one character less', headers: { 'x-api-key': KEY.slice(0, -1) } },
  { name: 'the key in another case', headers: { 'x-api-key': KEY.toUpperCase() } },
  { name: 'an empty x-api-key', headers: { 'x-api-key': '' } },
  { name: 'a wrong Bearer token', headers: { authorization: 'Bearer wrong' } },
  { name: 'the key as Basic credentials', headers: { authorization: `Basic ${KEY}` } },
  { name: 'the key without the Bearer scheme', headers: { authorization: KEY } },
  { name: 'the key in the query string', headers: {} },
];

test('API key', async (t) => {
  const server = await serverFor(t, {
    env: { AGENTOPS_API_KEY: KEY },
    args: ['--cors-origin', 'http://example.test'],
  });
  const { url } = server;
  const withKey = { 'x-api-key': KEY };

  const setup = await api(url, '/api/runs', {
    method: 'POST',
    body: { id: RUN },
    headers: withKey,
  });
  assert.equal(setup.status, 201, setup.text);
  const event = await api(url, `/api/runs/${RUN}/events`, {
    method: 'POST',
    body: { type: 'secret', payload: { text: 'private' } },
    headers: withKey,
  });
  assert.equal(event.status, 201, event.text);

  for (const refusal of refusals) {
    await t.test(`${refusal.name} is refused with 401 on every API route`, async () => {
      for (const route of routes) {
        const path =
          refusal.name === 'the key in the query string'
            ? `${route.path}${route.path.includes('?') ? '&' : '?'}key=${KEY}&apiKey=${KEY}`
            : route.path;
        const res = await api(url, path, {
          method: route.method,
          body: route.body,
          headers: refusal.headers,
        });
        const what = `${route.method} ${path}`;
        assert.equal(res.status, 401, `${what}: ${res.text.slice(0, 200)}`);
        assert.deepEqual(res.body, { error: 'unauthorized' }, what);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/, what);
        assert.doesNotMatch(res.text, /private|guarded/, what);
      }
    });
  }

  await t.test('nothing was created, changed or deleted by the refused requests', async () => {
    for (const id of ['sneaky-run', 'sneaky-by-event']) {
      assert.equal((await api(url, `/api/runs/${id}`, { headers: withKey })).status, 404, id);
    }
    const run = await api<Run>(url, `/api/runs/${RUN}`, { headers: withKey });
    assert.equal(run.status, 200);
    assert.equal(run.body.title, setup.body.title);
    assert.equal(run.body.eventCount, 1);
  });

  const accepted: { name: string; headers: Record<string, string> }[] = [
    { name: 'x-api-key', headers: { 'x-api-key': KEY } },
    { name: 'Authorization: Bearer', headers: { authorization: `Bearer ${KEY}` } },
    { name: 'a lower-case bearer scheme', headers: { authorization: `bearer ${KEY}` } },
  ];
  for (const { name, headers } of accepted) {
    await t.test(`the key in ${name} opens every API route`, async () => {
      const health = await api(url, '/health', { headers });
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'ok');
      const list = await api<Run[]>(url, '/api/runs', { headers });
      assert.equal(list.status, 200);
      assert.ok(list.body.some((r) => r.id === RUN));
      assert.equal((await api(url, `/api/runs/${RUN}`, { headers })).status, 200);
      const events = await api(url, `/api/runs/${RUN}/events`, { headers });
      assert.equal(events.status, 200);
      assert.equal(events.body[0].payload.text, 'private');
      const id = `keyed-${name.replace(/\W+/g, '-')}`;
      assert.equal(
        (await api(url, '/api/runs', { method: 'POST', body: { id }, headers })).status,
        201,
      );
      const patched = await api(url, `/api/runs/${id}`, {
        method: 'PATCH',
        body: { title: 'ok' },
        headers,
      });
      assert.equal(patched.status, 200);
      const posted = await api(url, `/api/runs/${id}/events`, {
        method: 'POST',
        body: { type: 'x' },
        headers,
      });
      assert.equal(posted.status, 201);
      const stream = await openSse(`${url}/api/runs/${id}/stream`, headers);
      assert.equal(stream.status, 200);
      assert.equal((await stream.take(1))[0]!.id, '1');
      stream.close();
      const changes = await openSse(`${url}/api/stream`, headers);
      assert.equal(changes.status, 200);
      changes.close();
      assert.equal((await api(url, `/api/runs/${id}`, { method: 'DELETE', headers })).status, 204);
    });
  }

  await t.test('a CORS preflight from a --cors-origin is answered without a key', async () => {
    for (const path of ['/api/runs', `/api/runs/${RUN}/events`, `/api/runs/${RUN}`, '/health']) {
      const res = await api(url, path, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://example.test',
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'content-type, x-api-key, authorization',
        },
      });
      assert.equal(res.status, 204, path);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://example.test');
      const methods = res.headers.get('access-control-allow-methods') ?? '';
      for (const method of ['GET', 'POST', 'PATCH', 'DELETE'])
        assert.match(methods, new RegExp(method));
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const header of ['content-type', 'x-api-key', 'authorization', 'last-event-id']) {
        assert.match(allowed, new RegExp(header));
      }
    }
  });

  await t.test(
    'answers to a --cors-origin carry CORS headers, refusals too, and expose the Link header',
    async () => {
      const origin = { origin: 'http://example.test' };
      const ok = await api(url, '/api/runs?limit=1', { headers: { ...withKey, ...origin } });
      assert.equal(ok.headers.get('access-control-allow-origin'), 'http://example.test');
      assert.match(ok.headers.get('access-control-expose-headers') ?? '', /link/i);
      const refused = await api(url, '/api/runs', { headers: origin });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('access-control-allow-origin'), 'http://example.test');
      // Without an Origin no browser is asking, and the ingest path skips the headers.
      const plain = await api(url, '/api/runs?limit=1', { headers: withKey });
      assert.equal(plain.headers.get('access-control-allow-origin'), null);
    },
  );

  await t.test('the static dashboard routes need no key and hold no data', async () => {
    const root = await api(url, '/');
    assert.notEqual(root.status, 401);
    assert.doesNotMatch(root.text, /private|guarded/);
    const asset = await api(url, '/assets/app.js');
    assert.notEqual(asset.status, 401);
  });
});
