// The JSON Schemas in shared/schema describe exactly what the server stores and answers: every run
// and event of a replayed original CLI session, and of a controlled run, conforms.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { schemaProblems } from './helpers/json-schema.ts';
import { serverFor } from './helpers/server.ts';

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../shared/schema/${name}`, import.meta.url), 'utf8'));

test('JSON Schemas', async (t) => {
  const runSchema = load('run.schema.json');
  const eventSchema = load('event.schema.json');
  const server = await serverFor(t);
  const { url } = server;

  await t.test('every stored event and run of the failure fixture conforms', async () => {
    const lines = readFileSync(new URL('./fixtures/failure.jsonl', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    let runId = '';
    for (const line of lines) {
      const path = runId ? line.path.replace('run-fixture-1', runId) : line.path;
      const res = await api(url, path, { method: line.method, body: line.body });
      assert.ok(res.status < 300, res.text);
      if (!runId) runId = res.body.id;
    }
    const events = (await api<AgentEvent[]>(url, `/api/runs/${runId}/events`)).body;
    assert.ok(events.length > 5);
    for (const event of events) assert.deepEqual(schemaProblems(eventSchema, event), []);
    const run = (await api<Run>(url, `/api/runs/${runId}`)).body;
    assert.deepEqual(schemaProblems(runSchema, run), []);
  });

  await t.test('a run with a control state and every optional field conforms', async () => {
    await api(url, '/api/runs', { body: { id: 'full', metadata: { a: 1 } } });
    await api(url, '/api/runs/full/events', {
      body: { type: 'tool.called', agentId: 'a', taskId: 't', level: 'warn', payload: { x: 1 } },
    });
    await api(url, '/api/runs/full/pause', { method: 'POST' });
    await api(url, '/api/runs/full', { method: 'PATCH', body: { errorMessage: 'kept' } });
    const run = (await api<Run>(url, '/api/runs/full')).body;
    assert.deepEqual(schemaProblems(runSchema, run), []);
  });

  await t.test('the checker itself refuses what breaks the schema', () => {
    assert.notDeepEqual(schemaProblems(eventSchema, { id: 'x', seq: 0 }), []);
    assert.notDeepEqual(schemaProblems(runSchema, { status: 'finished' }), []);
  });
});
