// Black-box specification of how the server answers bad input: per case the status and the
// message; afterwards the server is still up and the store holds only valid events.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { MAX_BODY_BYTES } from '../shared/constants.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { CLI, serverFor, tempDir } from './helpers/server.ts';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request with the path sent exactly as given (fetch would normalise `..`). */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Streams `total` bytes of a JSON-looking body in chunks, with a content-length or chunked, and
 * stops sending as soon as an answer arrives; resolves with that answer.
 */
function streamBody(base: string, path: string, total: number, withLength: boolean) {
  const { hostname, port } = new URL(base);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (withLength) headers['content-length'] = String(total);
  return new Promise<RawResponse & { sent: number }>((resolve, reject) => {
    let answered = false;
    let sent = 0;
    const req = request({ hostname, port, method: 'POST', path, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
          sent,
        });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(new Error(`no answer before the connection failed: ${error.message}`));
    });
    // Exactly `total` bytes: an event whose payload text fills the rest, sent 64 KiB at a time.
    const head = '{"type":"big","payload":{"text":"';
    const tail = '"}}';
    const body = Buffer.from(head + 'a'.repeat(total - head.length - tail.length) + tail);
    const CHUNK_BYTES = 64 * 1024;
    const pump = () => {
      while (!answered && !req.destroyed && sent < total) {
        const chunk = body.subarray(sent, sent + CHUNK_BYTES);
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number;
  error: RegExp;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const RUN = 'victim';
const EVENTS = `/api/runs/${RUN}/events`;
const deepArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const event = (fields: string) => `{"type":"x",${fields}}`;

const cases: Case[] = [
  // Bodies that are not JSON, not UTF-8 or not declared as JSON.
  {
    name: 'POST malformed JSON',
    method: 'POST',
    path: EVENTS,
    body: '{"type": "x",',
    status: 400,
    error: /request body is not valid JSON/,
  },
  {
    name: 'POST JSON with a trailing comma',
    method: 'POST',
    path: '/api/runs',
    body: '{"title":"a",}',
    status: 400,
    error: /not valid JSON/,
  },
  {
    name: 'POST an empty event body',
    method: 'POST',
    path: EVENTS,
    body: '',
    status: 400,
    error: /event must be a JSON object or an array of them; got an empty body/,
  },
  {
    name: 'POST text/plain',
    method: 'POST',
    path: EVENTS,
    headers: { 'content-type': 'text/plain' },
    body: '{"type":"x"}',
    status: 415,
    error: /content-type must be application\/json; got "text\/plain"/,
  },
  {
    name: 'POST no content-type',
    method: 'POST',
    path: EVENTS,
    headers: {},
    body: '{"type":"x"}',
    status: 415,
    error: /content-type must be application\/json/,
  },
  {
    name: 'POST form-encoded',
    method: 'POST',
    path: '/api/runs',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'title=x',
    status: 415,
    error: /content-type/,
  },
  {
    name: 'POST bad UTF-8 bytes',
    method: 'POST',
    path: EVENTS,
    body: Buffer.concat([
      Buffer.from('{"type":"x","payload":{"t":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}}'),
    ]),
    status: 400,
    error: /not valid UTF-8/,
  },
  {
    name: 'POST a lone UTF-8 continuation byte in a run title',
    method: 'POST',
    path: '/api/runs',
    body: Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0x80]), Buffer.from('"}')]),
    status: 400,
    error: /UTF-8/,
  },
  {
    name: 'POST a body over 1 MiB with content-length',
    method: 'POST',
    path: EVENTS,
    body: `{"type":"x","payload":{"t":"${'a'.repeat(MAX_BODY_BYTES)}"}}`,
    status: 413,
    error: /request body must be at most 1048576 bytes/,
  },
  // Shapes that could break the server: nesting and prototype keys.
  {
    name: 'POST arrays nested 100000 deep',
    method: 'POST',
    path: EVENTS,
    body: deepArray(100_000),
    status: 400,
    error: /nested deeper than 64 levels/,
  },
  {
    name: 'POST objects nested 100000 deep in a payload',
    method: 'POST',
    path: EVENTS,
    body: event(`"payload":${deepObject(100_000)}`),
    status: 400,
    error: /body\.payload(\.a)+ is nested deeper than 64 levels/,
  },
  {
    name: 'POST metadata nested 65 deep',
    method: 'POST',
    path: '/api/runs',
    body: `{"metadata":${deepObject(65)}}`,
    status: 400,
    error: /nested deeper than 64/,
  },
  {
    name: 'POST __proto__ in a payload',
    method: 'POST',
    path: EVENTS,
    body: event('"payload":{"__proto__":{"polluted":true}}'),
    status: 400,
    error: /"__proto__" key/,
  },
  {
    name: 'POST __proto__ at the top of an event',
    method: 'POST',
    path: EVENTS,
    body: '{"__proto__":{"polluted":true},"type":"x"}',
    status: 400,
    error: /"__proto__" key/,
  },
  {
    name: 'POST __proto__ inside an array in a batch',
    method: 'POST',
    path: EVENTS,
    body: `[${event('"payload":{"list":[{"__proto__":{"polluted":true}}]}')}]`,
    status: 400,
    error: /body\[0\]\.payload\.list\[0\] has a "__proto__" key/,
  },
  {
    name: 'POST __proto__ in run metadata',
    method: 'POST',
    path: '/api/runs',
    body: '{"metadata":{"__proto__":{"polluted":true}}}',
    status: 400,
    error: /"__proto__" key/,
  },
  {
    name: 'PATCH __proto__ in metadata',
    method: 'PATCH',
    path: `/api/runs/${RUN}`,
    body: '{"metadata":{"__proto__":{"polluted":true}}}',
    status: 400,
    error: /"__proto__" key/,
  },
  // Run ids.
  {
    name: 'POST run id ".."',
    method: 'POST',
    path: '/api/runs',
    body: '{"id":".."}',
    status: 400,
    error: /id must match .*; got "\.\."/,
  },
  {
    name: 'POST run id of 129 characters',
    method: 'POST',
    path: '/api/runs',
    body: `{"id":"${'a'.repeat(129)}"}`,
    status: 400,
    error: /id must match .*at most 128/,
  },
  {
    name: 'POST run id with a slash',
    method: 'POST',
    path: '/api/runs',
    body: '{"id":"a/b"}',
    status: 400,
    error: /id must match .*; got "a\/b"/,
  },
  {
    name: 'POST run id that is a number',
    method: 'POST',
    path: '/api/runs',
    body: '{"id":42}',
    status: 400,
    error: /id must match .*; got 42/,
  },
  {
    name: 'POST run id starting with a dot in the path',
    method: 'POST',
    path: '/api/runs/.hidden/events',
    body: '{"type":"x"}',
    status: 400,
    error: /run id must match .*; got "\.hidden"/,
  },
  {
    name: 'POST an encoded ../ in the path',
    method: 'POST',
    path: '/api/runs/..%2F..%2Fescape/events',
    body: '{"type":"x"}',
    status: 400,
    error: /run id must match .*; got "\.\.\/\.\.\/escape"/,
  },
  {
    name: 'GET an encoded space in the path',
    method: 'GET',
    path: '/api/runs/a%20b',
    status: 400,
    error: /run id must match .*; got "a b"/,
  },
  {
    name: 'POST a run id of 129 characters in the path',
    method: 'POST',
    path: `/api/runs/${'r'.repeat(129)}/events`,
    body: '{"type":"x"}',
    status: 400,
    error: /run id must match/,
  },
  {
    name: 'GET a bad percent-encoding in the path',
    method: 'GET',
    path: '/api/runs/%E0%A4%A',
    status: 400,
    error: /run id|URI|URL/i,
  },
  // Runs.
  {
    name: 'POST run status "finished"',
    method: 'POST',
    path: '/api/runs',
    body: '{"status":"finished"}',
    status: 400,
    error:
      /^status must be one of queued, running, paused, completed, error, stopped; got "finished"$/,
  },
  {
    name: 'PATCH status "done"',
    method: 'PATCH',
    path: `/api/runs/${RUN}`,
    body: '{"status":"done"}',
    status: 400,
    error: /^status must be one of queued, running, paused, completed, error, stopped; got "done"$/,
  },
  {
    name: 'PATCH status null',
    method: 'PATCH',
    path: `/api/runs/${RUN}`,
    body: '{"status":null}',
    status: 400,
    error: /status must be one of .*; got null/,
  },
  {
    name: 'POST a run title that is not a string',
    method: 'POST',
    path: '/api/runs',
    body: '{"title":["a"]}',
    status: 400,
    error: /title must be a string; got \["a"\]/,
  },
  {
    name: 'POST a run title over 500 characters',
    method: 'POST',
    path: '/api/runs',
    body: `{"title":"${'t'.repeat(501)}"}`,
    status: 400,
    error: /title must be at most 500 characters; got 501/,
  },
  {
    name: 'POST run metadata that is an array',
    method: 'POST',
    path: '/api/runs',
    body: '{"metadata":[1]}',
    status: 400,
    error: /metadata must be a JSON object; got \[1\]/,
  },
  {
    name: 'POST an unknown run field',
    method: 'POST',
    path: '/api/runs',
    body: '{"name":"x"}',
    status: 400,
    error: /run has an unknown field "name"/,
  },
  {
    name: 'POST a run that is an array',
    method: 'POST',
    path: '/api/runs',
    body: '[]',
    status: 400,
    error: /run must be a JSON object; got \[\]/,
  },
  {
    name: 'PATCH a body that is a string',
    method: 'PATCH',
    path: `/api/runs/${RUN}`,
    body: '"completed"',
    status: 400,
    error: /patch must be a JSON object; got "completed"/,
  },
  {
    name: 'PATCH with an empty body',
    method: 'PATCH',
    path: `/api/runs/${RUN}`,
    body: '',
    status: 400,
    error: /patch must be a JSON object/,
  },
  {
    name: 'PATCH of a server field',
    method: 'PATCH',
    path: `/api/runs/${RUN}`,
    body: '{"eventCount":0}',
    status: 400,
    error: /patch has an unknown field "eventCount"/,
  },
  {
    name: 'PATCH errorMessage that is a number',
    method: 'PATCH',
    path: `/api/runs/${RUN}`,
    body: '{"errorMessage":5}',
    status: 400,
    error: /errorMessage must be a string; got 5/,
  },
  // Events.
  {
    name: 'POST an event without a type',
    method: 'POST',
    path: EVENTS,
    body: '{"payload":{}}',
    status: 400,
    error: /event\.type must be a dotted name .*; got undefined/,
  },
  {
    name: 'POST a type with spaces',
    method: 'POST',
    path: EVENTS,
    body: '{"type":"has space"}',
    status: 400,
    error: /event\.type must be a dotted name .*; got "has space"/,
  },
  {
    name: 'POST a type that is a number',
    method: 'POST',
    path: EVENTS,
    body: '{"type":7}',
    status: 400,
    error: /event\.type .*; got 7/,
  },
  {
    name: 'POST level "fatal"',
    method: 'POST',
    path: EVENTS,
    body: event('"level":"fatal"'),
    status: 400,
    error: /^event\.level must be one of debug, info, warn, error; got "fatal"$/,
  },
  {
    name: 'POST level "INFO"',
    method: 'POST',
    path: EVENTS,
    body: event('"level":"INFO"'),
    status: 400,
    error: /level must be one of .*; got "INFO"/,
  },
  {
    name: 'POST ts "yesterday"',
    method: 'POST',
    path: EVENTS,
    body: event('"ts":"yesterday"'),
    status: 400,
    error: /event\.ts must be an ISO-8601 date-time .*; got "yesterday"/,
  },
  {
    name: 'POST ts in month 13',
    method: 'POST',
    path: EVENTS,
    body: event('"ts":"2024-13-01T00:00:00Z"'),
    status: 400,
    error: /event\.ts must be an ISO-8601/,
  },
  {
    name: 'POST ts on February 30th',
    method: 'POST',
    path: EVENTS,
    body: event('"ts":"2024-02-30T00:00:00Z"'),
    status: 400,
    error: /event\.ts must be .*a real date.*; got "2024-02-30T00:00:00Z"/,
  },
  {
    name: 'POST ts in year 0000',
    method: 'POST',
    path: EVENTS,
    body: event('"ts":"0000-01-01T00:00:00Z"'),
    status: 400,
    error: /event\.ts must be .*; got "0000-01-01T00:00:00Z"/,
  },
  {
    name: 'POST ts at hour 24',
    method: 'POST',
    path: EVENTS,
    body: event('"ts":"2024-05-01T24:00:00Z"'),
    status: 400,
    error: /event\.ts must be an ISO-8601/,
  },
  {
    name: 'POST ts without a zone',
    method: 'POST',
    path: EVENTS,
    body: event('"ts":"2024-05-01T12:00:00"'),
    status: 400,
    error: /event\.ts must be an ISO-8601/,
  },
  {
    name: 'POST ts as epoch milliseconds',
    method: 'POST',
    path: EVENTS,
    body: event('"ts":1714564800000'),
    status: 400,
    error: /event\.ts .*; got 1714564800000/,
  },
  {
    name: 'POST a payload that is an array',
    method: 'POST',
    path: EVENTS,
    body: event('"payload":[1,2]'),
    status: 400,
    error: /event\.payload must be a JSON object; got \[1,2\]/,
  },
  {
    name: 'POST a payload that is a string',
    method: 'POST',
    path: EVENTS,
    body: event('"payload":"text"'),
    status: 400,
    error: /event\.payload must be a JSON object; got "text"/,
  },
  {
    name: 'POST an event that is a number',
    method: 'POST',
    path: EVENTS,
    body: '42',
    status: 400,
    error: /event must be a JSON object; got 42/,
  },
  {
    name: 'POST an event that is null',
    method: 'POST',
    path: EVENTS,
    body: 'null',
    status: 400,
    error: /event must be a JSON object; got null/,
  },
  {
    name: 'POST an unknown event field',
    method: 'POST',
    path: EVENTS,
    body: event('"colour":"red"'),
    status: 400,
    error: /event has an unknown field "colour"/,
  },
  {
    name: 'POST an event id that is empty',
    method: 'POST',
    path: EVENTS,
    body: event('"id":""'),
    status: 400,
    error: /event\.id must be a non-empty string/,
  },
  {
    name: 'POST an event id over 200 characters',
    method: 'POST',
    path: EVENTS,
    body: event(`"id":"${'i'.repeat(201)}"`),
    status: 400,
    error: /event\.id must be a non-empty string of at most 200 characters/,
  },
  {
    name: 'POST an agentId that is an object',
    method: 'POST',
    path: EVENTS,
    body: event('"agentId":{"a":1}'),
    status: 400,
    error: /event\.agentId must be a string/,
  },
  {
    name: 'POST a runId naming another run',
    method: 'POST',
    path: EVENTS,
    body: event('"runId":"other"'),
    status: 400,
    error: /event\.runId "other" does not match the run in the path "victim"/,
  },
  {
    name: 'POST an empty batch',
    method: 'POST',
    path: EVENTS,
    body: '[]',
    status: 400,
    error: /at least one event/,
  },
  {
    name: 'POST a batch of 1001 events',
    method: 'POST',
    path: EVENTS,
    body: `[${Array(1001).fill('{"type":"x"}').join(',')}]`,
    status: 413,
    error: /at most 1000 events; got 1001/,
  },
  // Query parameters and headers.
  {
    name: 'GET an events limit of 5001',
    method: 'GET',
    path: `${EVENTS}?limit=5001`,
    status: 400,
    error: /limit must be an integer from 1 to 5000; got "5001"/,
  },
  {
    name: 'GET after and before together',
    method: 'GET',
    path: `${EVENTS}?after=1&before=3`,
    status: 400,
    error: /after and before/,
  },
  {
    name: 'GET an unknown export format',
    method: 'GET',
    path: `${EVENTS}?format=csv`,
    status: 400,
    error: /format must be json or ndjson; got "csv"/,
  },
  {
    name: 'GET a runs limit of 1001',
    method: 'GET',
    path: '/api/runs?limit=1001',
    status: 400,
    error: /limit must be an integer from 1 to 1000; got "1001"/,
  },
  {
    name: 'GET before naming no run',
    method: 'GET',
    path: '/api/runs?before=ghost',
    status: 400,
    error: /before names no run; got "ghost"/,
  },
  {
    name: 'GET a Last-Event-ID that is not a number',
    method: 'GET',
    path: `/api/runs/${RUN}/stream`,
    headers: { 'last-event-id': 'abc' },
    status: 400,
    error: /Last-Event-ID must be an integer .*; got "abc"/,
  },
  // Methods and routes.
  {
    name: 'PUT /api/runs',
    method: 'PUT',
    path: '/api/runs',
    body: '{}',
    status: 405,
    error: /method PUT not allowed on \/api\/runs/,
  },
  {
    name: 'DELETE /api/runs',
    method: 'DELETE',
    path: '/api/runs',
    status: 405,
    error: /method DELETE not allowed/,
  },
  {
    name: 'POST /health',
    method: 'POST',
    path: '/health',
    body: '{}',
    status: 405,
    error: /method POST not allowed on \/health/,
  },
  {
    name: 'PUT of a run',
    method: 'PUT',
    path: `/api/runs/${RUN}`,
    body: '{}',
    status: 405,
    error: /method PUT not allowed/,
  },
  {
    name: 'DELETE of events',
    method: 'DELETE',
    path: EVENTS,
    status: 405,
    error: /method DELETE not allowed/,
  },
  {
    name: 'POST to a stream',
    method: 'POST',
    path: `/api/runs/${RUN}/stream`,
    body: '{}',
    status: 405,
    error: /method POST not allowed/,
  },
  {
    name: 'POST /',
    method: 'POST',
    path: '/',
    body: '{}',
    status: 405,
    error: /method POST not allowed/,
  },
  {
    name: 'GET an unknown API route',
    method: 'GET',
    path: '/api/nope',
    status: 404,
    error: /no route for GET \/api\/nope/,
  },
  {
    name: 'GET a route one level too deep',
    method: 'GET',
    path: `${EVENTS}/1`,
    status: 404,
    error: /no route/,
  },
  {
    name: 'GET an unknown page',
    method: 'GET',
    path: '/nope.html',
    status: 404,
    error: /not found/,
  },
  {
    name: 'GET an unknown run',
    method: 'GET',
    path: '/api/runs/unknown-run',
    status: 404,
    error: /run "unknown-run" not found/,
  },
  // Path traversal on the static routes never reaches the disk outside the dashboard.
  {
    name: 'GET /assets/../../package.json',
    method: 'GET',
    path: '/assets/../../package.json',
    status: 404,
    error: /not found/,
  },
  {
    name: 'GET /assets/%2e%2e/%2e%2e/package.json',
    method: 'GET',
    path: '/assets/%2e%2e/%2e%2e/package.json',
    status: 404,
    error: /not found/,
  },
  {
    name: 'GET /assets/..%2f..%2fpackage.json',
    method: 'GET',
    path: '/assets/..%2f..%2fpackage.json',
    status: 404,
    error: /not found/,
  },
  {
    name: 'GET /assets/%2e%2e%2f%2e%2e%2fpackage.json',
    method: 'GET',
    path: '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    status: 404,
    error: /not found/,
  },
  {
    name: 'GET /assets/..\\..\\package.json',
    method: 'GET',
    path: '/assets/..%5c..%5cpackage.json',
    status: 404,
    error: /not found/,
  },
  {
    name: 'GET /assets/ with a NUL byte',
    method: 'GET',
    path: '/assets/app.js%00.html',
    status: 404,
    error: /not found/,
  },
  {
    name: 'GET /../../../etc/passwd',
    method: 'GET',
    path: '/../../../etc/passwd',
    status: 404,
    error: /not found/,
  },
];

test('bad input', { timeout: 120_000 }, async (t) => {
  const server = await serverFor(t);
  const { url } = server;

  const created = await api(url, '/api/runs', { method: 'POST', body: { id: RUN } });
  assert.equal(created.status, 201);
  const good = await api<AgentEvent>(url, EVENTS, {
    method: 'POST',
    body: { id: 'good-1', type: 'ok' },
  });
  assert.equal(good.status, 201);

  for (const c of cases) {
    await t.test(`${c.name} → ${c.status}`, async () => {
      const headers = c.headers ?? (c.body !== undefined ? JSON_TYPE : {});
      const res = await send(url, c.method, c.path, headers, c.body);
      assert.equal(res.status, c.status, res.text.slice(0, 300));
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      const body = JSON.parse(res.text) as { error: unknown };
      assert.deepEqual(Object.keys(body), ['error']);
      assert.equal(typeof body.error, 'string');
      assert.match(body.error as string, c.error);
      assert.doesNotMatch(res.text, /devDependencies|root:/, 'no file outside the dashboard leaks');
      if (c.status === 405) assert.match(String(res.headers.allow), /GET|POST/, 'an Allow header');
    });
  }

  await t.test('a body of exactly 1 MiB is accepted', async () => {
    const head = '{"type":"exactly.limit","payload":{"t":"';
    const tail = '"}}';
    const body = head + 'a'.repeat(MAX_BODY_BYTES - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(body), MAX_BODY_BYTES);
    const res = await send(url, 'POST', EVENTS, JSON_TYPE, body);
    assert.equal(res.status, 201, res.text.slice(0, 300));
  });

  for (const withLength of [true, false]) {
    const how = withLength ? 'with a content-length' : 'chunked, without a length';
    await t.test(
      `a streamed 2 MiB body ${how} is answered 413 before the connection closes`,
      async () => {
        const res = await streamBody(url, EVENTS, 2 * MAX_BODY_BYTES, withLength);
        assert.equal(res.status, 413);
        assert.match(JSON.parse(res.text).error, /request body must be at most 1048576 bytes/);
      },
    );
  }

  // Requests Node's HTTP parser refuses before any route sees them: still a JSON error.
  const unparsable: { name: string; request: string; status: number; error: RegExp }[] = [
    {
      name: 'a header over the size limit',
      request: `GET /api/runs HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      error: /header/i,
    },
    {
      name: 'a request line that is not HTTP',
      request: 'GARBAGE\r\n\r\n',
      status: 400,
      error: /request/i,
    },
    {
      name: 'a content-length that is not a number',
      request: 'POST /api/runs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      status: 400,
      error: /request|content-length/i,
    },
  ];
  for (const { name, request: raw, status, error } of unparsable) {
    await t.test(`${name} → ${status} with a JSON error`, async () => {
      const socket = connect(server.port, '127.0.0.1');
      socket.write(raw);
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      await new Promise((resolve) => socket.once('close', resolve));
      const [head = '', body = ''] = text.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(head, /content-type: application\/json/i, `headers: ${head}`);
      assert.match(JSON.parse(body || '{}').error ?? '', error, `body: ${JSON.stringify(body)}`);
    });
  }

  await t.test('"/" answers the dashboard page (npm test builds it first)', async () => {
    assert.ok(existsSync(join(dirname(CLI), 'dashboard', 'index.html')), 'the dashboard is built');
    const res = await send(url, 'GET', '/', {});
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/html/);
  });

  await t.test('"/" answers 404 JSON while no dashboard is built', async () => {
    // A copy of the server bundle without a dashboard beside it.
    const scratch = tempDir('agent-ops-bundle-');
    const bundle = join(scratch, 'dist');
    mkdirSync(bundle);
    for (const file of ['agent-ops.js', 'server.js']) {
      copyFileSync(join(dirname(CLI), file), join(bundle, file));
    }
    const bare = spawn(
      process.execPath,
      [join(bundle, 'agent-ops.js'), 'serve', '--port', '0', '--data', join(scratch, 'data')],
      {
        env: { ...process.env, AGENTOPS_API_KEY: undefined },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((resolve) => bare.once('exit', resolve));
    try {
      let stdout = '';
      const bareUrl = await new Promise<string>((resolve, reject) => {
        bare.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          const match = /listening on (http:\/\/\S+)/.exec(stdout);
          if (match) resolve(match[1]!);
        });
        bare.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      for (const path of ['/', '/index.html', '/assets/app.js']) {
        const res = await send(bareUrl, 'GET', path, {});
        assert.equal(res.status, 404, path);
        assert.match(res.headers['content-type'] ?? '', /^application\/json/, path);
        assert.match(JSON.parse(res.text).error, /not found/, path);
      }
      const root = await send(bareUrl, 'GET', '/', {});
      assert.match(JSON.parse(root.text).error, /dashboard is not built/);
    } finally {
      bare.kill('SIGKILL');
      await exited;
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  await t.test('bad events sent to an unknown run do not create it', async () => {
    const res = await send(url, 'POST', '/api/runs/not-created/events', JSON_TYPE, '{"level":"x"}');
    assert.equal(res.status, 400);
    const big = await streamBody(url, '/api/runs/not-created/events', 2 * MAX_BODY_BYTES, false);
    assert.equal(big.status, 413);
    const refusedBatch = await send(
      url,
      'POST',
      '/api/runs/not-created/events',
      JSON_TYPE,
      '[{"level":"x"},{"type":"a b"}]',
    );
    assert.equal(refusedBatch.status, 207);
    assert.deepEqual(
      JSON.parse(refusedBatch.text).results.map((r: { status: number }) => r.status),
      [400, 400],
    );
    assert.equal((await api(url, '/api/runs/not-created')).status, 404);
  });

  await t.test(
    'nothing was polluted: keys like constructor and prototype are plain data',
    async () => {
      const body =
        '{"metadata":{"constructor":{"prototype":{"polluted":true}},"prototype":{"x":1}}}';
      const res = await send(url, 'PATCH', `/api/runs/${RUN}`, JSON_TYPE, body);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(JSON.parse(res.text).metadata, JSON.parse(body).metadata);
      const fresh = await api<Run>(url, '/api/runs', { method: 'POST', body: { title: 'fresh' } });
      assert.equal(fresh.status, 201);
      assert.deepEqual(fresh.body.metadata, {});
      assert.equal((fresh.body as unknown as Record<string, unknown>).polluted, undefined);
      assert.doesNotMatch(fresh.text, /polluted/);
      const patched = await api<Run>(url, `/api/runs/${fresh.body.id}`, {
        method: 'PATCH',
        body: { metadata: { a: 1 } },
      });
      assert.deepEqual(patched.body.metadata, { a: 1 });
    },
  );

  await t.test('afterwards the server is up and the run holds only valid events', async () => {
    const health = await api(url, '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    const run = await api<Run>(url, `/api/runs/${RUN}`);
    assert.equal(run.body.status, 'running');
    assert.equal(run.body.eventCount, 2);
    const events = await api(url, `${EVENTS}?format=ndjson`);
    const lines = events.text.split('\n').filter(Boolean);
    const parsed = lines.map((line) => JSON.parse(line) as AgentEvent);
    assert.deepEqual(
      parsed.map((e) => [e.seq, e.type]),
      [
        [1, 'ok'],
        [2, 'exactly.limit'],
      ],
    );
    assert.deepEqual(parsed[0], good.body);
    const next = await api<AgentEvent>(url, EVENTS, {
      method: 'POST',
      body: { type: 'still.fine' },
    });
    assert.equal(next.status, 201);
    assert.equal(next.body.seq, 3);
  });
});
