// Drop-in compatibility: the original CLI's recorded requests replay unchanged against our server,
// every stored event matches its request line, and all of them read back over SSE.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const RECORDED_RUN_ID = 'run-fixture-1';

function readFixture(name: string): RecordedRequest[] {
  const text = readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedRequest);
}

const fixtures: {
  file: string;
  env: Record<string, string>;
  status: Run['status'];
  errorMessage?: string;
}[] = [
  { file: 'success.jsonl', env: { AGENTOPS_API_KEY: 'k123' }, status: 'completed' },
  {
    file: 'failure.jsonl',
    env: {},
    status: 'error',
    errorMessage: 'Simulated failure at step 4',
  },
];

test('replay of the original CLI traffic', async (t) => {
  for (const fixture of fixtures) {
    await t.test(`${fixture.file} replays line by line and is stored as sent`, async () => {
      const server = await serverFor(t, { env: fixture.env });
      const lines = readFixture(fixture.file);
      assert.ok(lines.length > 10, 'the fixture has its lines');
      const headers = lines[0]!.headers;

      let runId: string | undefined;
      const sentEvents: Record<string, unknown>[] = [];
      let metadata: Record<string, unknown> = {};
      for (const [i, line] of lines.entries()) {
        const path = runId ? line.path.replaceAll(RECORDED_RUN_ID, runId) : line.path;
        const res = await api(server.url, path, {
          method: line.method,
          body: line.body,
          headers: line.headers,
        });
        const what = `line ${i + 1}: ${line.method} ${path}`;
        if (line.method === 'POST' && line.path === '/api/runs') {
          assert.equal(res.status, 201, `${what}: ${res.text}`);
          runId = (res.body as Run).id;
          assert.equal((res.body as Run).title, line.body.title);
        } else if (line.method === 'POST') {
          assert.equal(res.status, 201, `${what}: ${res.text}`);
          sentEvents.push(line.body);
          assert.equal((res.body as AgentEvent).seq, sentEvents.length, what);
        } else {
          assert.equal(line.method, 'PATCH');
          assert.equal(res.status, 200, `${what}: ${res.text}`);
          if (line.body.metadata) metadata = { ...metadata, ...(line.body.metadata as object) };
        }
      }
      assert.ok(runId, 'the fixture created a run');

      const stored = await api<AgentEvent[]>(server.url, `/api/runs/${runId}/events?limit=5000`, {
        headers,
      });
      assert.equal(stored.status, 200);
      assert.equal(stored.body.length, sentEvents.length);
      for (const [i, sent] of sentEvents.entries()) {
        const event = stored.body[i]!;
        const what = `event ${i + 1} (${String(sent.type)})`;
        assert.equal(event.seq, i + 1, what);
        assert.equal(event.runId, runId, what);
        assert.equal(event.type, sent.type, what);
        assert.equal(event.level, sent.level ?? 'info', what);
        assert.equal(event.agentId, sent.agentId, what);
        assert.equal(event.taskId, sent.taskId, what);
        assert.deepEqual(event.payload, sent.payload ?? {}, what);
        assert.equal(typeof event.id, 'string', what);
        assert.match(event.ts, /^\d{4}-\d{2}-\d{2}T/, what);
      }
      assert.equal(new Set(stored.body.map((e) => e.id)).size, sentEvents.length, 'ids are unique');

      const run = (await api<Run>(server.url, `/api/runs/${runId}`, { headers })).body;
      assert.equal(run.status, fixture.status);
      assert.equal(run.errorMessage, fixture.errorMessage);
      assert.ok(run.endedAt, 'the run has ended');
      assert.equal(run.title, lines[0]!.body.title);
      assert.deepEqual(run.metadata, metadata);
      assert.equal(run.eventCount, sentEvents.length);
      assert.equal(run.lastSeq, sentEvents.length);
      assert.equal(run.toolCallCount, sentEvents.filter((e) => e.type === 'tool.called').length);
      assert.equal(
        run.errorCount,
        sentEvents.filter((e) => e.level === 'error' || e.type === 'run.error').length,
      );

      const stream = await openSse(`${server.url}/api/runs/${runId}/stream`, headers);
      assert.equal(stream.status, 200);
      const messages = await stream.take(sentEvents.length);
      stream.close();
      assert.deepEqual(
        messages.map((m) => m.id),
        stored.body.map((e) => String(e.seq)),
      );
      assert.deepEqual(
        messages.map((m) => JSON.parse(m.data) as AgentEvent),
        stored.body,
      );
    });
  }

  await t.test('the success fixture without its key is refused and stores nothing', async () => {
    const server = await serverFor(t, { env: { AGENTOPS_API_KEY: 'k123' } });
    const [create] = readFixture('success.jsonl');
    const res = await api(server.url, create!.path, {
      method: create!.method,
      body: create!.body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 401);
    const list = await api<Run[]>(server.url, '/api/runs', { headers: create!.headers });
    assert.deepEqual(list.body, []);
  });
});
