// Black-box specification of POST and GET /api/runs/:id/events: seq, idempotency, batches,
// cursors, filters and the NDJSON export.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT, MAX_BATCH_EVENTS } from '../shared/constants.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

interface BatchResult {
  status: number;
  event?: AgentEvent;
  error?: string;
}

test('/api/runs/:id/events', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  let counter = 0;
  const newRun = async (): Promise<string> => {
    const id = `events-run-${++counter}`;
    const res = await api(url, '/api/runs', { method: 'POST', body: { id } });
    assert.equal(res.status, 201, res.text);
    return id;
  };
  const post = (runId: string, body: unknown) =>
    api(url, `/api/runs/${runId}/events`, { method: 'POST', body });
  const getEvents = async (runId: string, query = ''): Promise<AgentEvent[]> => {
    const res = await api<AgentEvent[]>(url, `/api/runs/${runId}/events${query}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.body), 'a bare array');
    return res.body;
  };
  /** Stores `count` events numbered from 1 in batches, so run seq n carries payload.n = n. */
  const fill = async (runId: string, count: number) => {
    for (let start = 1; start <= count; start += MAX_BATCH_EVENTS) {
      const batch = [];
      for (let n = start; n < start + MAX_BATCH_EVENTS && n <= count; n++) {
        batch.push({ type: 'tick', payload: { n } });
      }
      const res = await post(runId, batch);
      assert.equal(res.status, 201, res.text.slice(0, 500));
    }
  };
  const seqs = (events: AgentEvent[]) => events.map((e) => e.seq);
  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);

  await t.test('a single POST answers 201 with the stored event; seq counts 1, 2, 3', async () => {
    const runId = await newRun();
    const before = new Date().toISOString();
    for (let n = 1; n <= 3; n++) {
      const res = await post(runId, { type: 'task.progress', payload: { step: n } });
      assert.equal(res.status, 201, res.text);
      const event = res.body as AgentEvent;
      assert.equal(event.seq, n);
      assert.equal(event.runId, runId);
      assert.equal(event.type, 'task.progress');
      assert.equal(event.level, 'info', 'level defaults to info');
      assert.deepEqual(event.payload, { step: n });
      assert.match(event.id, UUID, 'the server makes a UUID when the producer sends no id');
      assert.match(event.ts, ISO);
      assert.ok(event.ts >= before, 'ts from the server clock');
    }
    const stored = await getEvents(runId);
    assert.deepEqual(seqs(stored), [1, 2, 3]);
  });

  await t.test('the producer fields are stored as sent; payload defaults to {}', async () => {
    const runId = await newRun();
    const sent = {
      id: 'producer-id-1',
      ts: '2024-05-01T12:00:00.123Z',
      type: 'tool.called',
      level: 'debug',
      agentId: 'agent-7',
      taskId: 'task-9',
      payload: {
        toolName: 'Read',
        args: { path: 'a.txt' },
        list: [1, 'two', null],
        unicode: 'é ✓ 🚀',
      },
    };
    const res = await post(runId, sent);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body, { ...sent, seq: 1, runId });
    const bare = await post(runId, { type: 'x' });
    assert.deepEqual((bare.body as AgentEvent).payload, {});
    assert.deepEqual(await getEvents(runId), [res.body, bare.body]);
  });

  await t.test(
    'a batch mixing ASCII and other text answers and stores every record whole',
    async () => {
      const runId = await newRun();
      const texts = [
        'plain',
        'é ✓ 🚀',
        'plain again',
        '\u2028 line separator',
        'lone \ud800',
        'end',
      ];
      const batch = texts.map((text) => ({ type: 'note', payload: { text } }));
      const res = await api<{ results: Array<{ status: number; event: AgentEvent }> }>(
        url,
        `/api/runs/${runId}/events`,
        { body: batch },
      );
      assert.equal(res.status, 201, res.text);
      const answered = res.body.results.map((result) => result.event);
      // JSON.stringify writes a lone surrogate as an escape, so even that comes back as sent.
      assert.deepEqual(
        answered.map((event) => event.payload.text),
        texts,
      );
      assert.deepEqual(await getEvents(runId), answered);
      const page = await api<AgentEvent[]>(url, `/api/runs/${runId}/events?after=3`);
      assert.deepEqual(page.body, answered.slice(3));
    },
  );

  await t.test(
    're-posting an id answers 200 with the stored event and stores nothing',
    async () => {
      const runId = await newRun();
      const first = await post(runId, { id: 'once', type: 'a', payload: { v: 1 } });
      assert.equal(first.status, 201);
      const again = await post(runId, { id: 'once', type: 'b', payload: { v: 2 } });
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.body, first.body);
      const next = await post(runId, { id: 'twice', type: 'a' });
      assert.equal((next.body as AgentEvent).seq, 2, 'a duplicate consumes no seq');
      assert.deepEqual(
        (await getEvents(runId)).map((e) => e.id),
        ['once', 'twice'],
      );
      const run = (await api<Run>(url, `/api/runs/${runId}`)).body;
      assert.equal(run.eventCount, 2);
      assert.equal(run.lastSeq, 2);
    },
  );

  await t.test('the same id in two different runs is two events', async () => {
    const a = await newRun();
    const b = await newRun();
    assert.equal((await post(a, { id: 'shared', type: 'x' })).status, 201);
    assert.equal((await post(b, { id: 'shared', type: 'x' })).status, 201);
  });

  await t.test('concurrent posts of one id store it once', async () => {
    const runId = await newRun();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(runId, { id: 'racy', type: 'x' })),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [...Array(19).fill(200), 201]);
    for (const answer of answers) assert.equal((answer.body as AgentEvent).seq, 1);
    assert.equal((await getEvents(runId)).length, 1);
  });

  await t.test('an array of events answers 201 with every result in input order', async () => {
    const runId = await newRun();
    await post(runId, { type: 'first' });
    const batch = [
      { id: 'b1', type: 'one' },
      { id: 'b2', type: 'two', level: 'warn' },
      { type: 'three' },
    ];
    const res = await post(runId, batch);
    assert.equal(res.status, 201, res.text);
    const results = (res.body as { results: BatchResult[] }).results;
    assert.deepEqual(
      results.map((r) => [r.status, r.event?.type, r.event?.seq]),
      [
        [201, 'one', 2],
        [201, 'two', 3],
        [201, 'three', 4],
      ],
    );
    assert.deepEqual(
      (await getEvents(runId)).map((e) => e.type),
      ['first', 'one', 'two', 'three'],
    );
  });

  await t.test(
    'a batch with refused items answers 207; the good ones are stored gap-free',
    async () => {
      const runId = await newRun();
      await post(runId, { id: 'old', type: 'x' });
      const res = await post(runId, [
        { id: 'g1', type: 'good' },
        { id: 'bad-level', type: 'bad', level: 'fatal' },
        { id: 'old', type: 'duplicate' },
        { type: 'no type here' },
        'not an object',
        { id: 'g2', type: 'good' },
      ]);
      assert.equal(res.status, 207, res.text);
      const results = (res.body as { results: BatchResult[] }).results;
      assert.equal(results.length, 6);
      assert.deepEqual(
        results.map((r) => r.status),
        [201, 400, 200, 400, 400, 201],
      );
      assert.equal(results[0]!.event!.seq, 2);
      assert.match(
        results[1]!.error!,
        /level must be one of debug, info, warn, error; got "fatal"/,
      );
      assert.equal(results[2]!.event!.seq, 1, 'a duplicate answers with the stored event');
      assert.equal(results[2]!.event!.type, 'x');
      assert.match(results[3]!.error!, /type/);
      assert.match(results[4]!.error!, /must be a JSON object; got "not an object"/);
      assert.equal(results[5]!.event!.seq, 3, 'refused items consume no seq');
      assert.deepEqual(
        (await getEvents(runId)).map((e) => e.id),
        ['old', 'g1', 'g2'],
      );
    },
  );

  await t.test('a batch repeating an id stores it once', async () => {
    const runId = await newRun();
    const res = await post(runId, [
      { id: 'r', type: 'x' },
      { id: 'r', type: 'x' },
    ]);
    assert.equal(res.status, 201, 'repeats are not refusals');
    const results = (res.body as { results: BatchResult[] }).results;
    assert.deepEqual(
      results.map((r) => [r.status, r.event?.seq]),
      [
        [201, 1],
        [200, 1],
      ],
    );
    assert.equal((await getEvents(runId)).length, 1);
  });

  await t.test(
    `a batch of ${MAX_BATCH_EVENTS} is stored; one more item is refused whole`,
    async () => {
      const runId = await newRun();
      const full = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => ({
        type: 'x',
        payload: { i },
      }));
      const ok = await post(runId, full);
      assert.equal(ok.status, 201);
      assert.equal((ok.body as { results: BatchResult[] }).results.length, MAX_BATCH_EVENTS);
      const tooMany = await post(runId, [...full, { type: 'x' }]);
      assert.ok(tooMany.status === 400 || tooMany.status === 413, `status ${tooMany.status}`);
      assert.match(tooMany.body.error, new RegExp(`${MAX_BATCH_EVENTS}`));
      const run = (await api<Run>(url, `/api/runs/${runId}`)).body;
      assert.equal(run.eventCount, MAX_BATCH_EVENTS, 'nothing of the refused batch is stored');
    },
  );

  await t.test('an empty batch stores nothing', async () => {
    const runId = await newRun();
    const res = await post(runId, []);
    assert.ok(res.status === 201 || res.status === 400, `status ${res.status}`);
    assert.equal((await getEvents(runId)).length, 0);
  });

  await t.test('posting to an unknown run creates it', async () => {
    const runId = `created-by-event-${++counter}`;
    assert.equal((await api(url, `/api/runs/${runId}`)).status, 404);
    const res = await post(runId, { type: 'run.started', ts: '2024-05-01T12:00:00.000Z' });
    assert.equal(res.status, 201, res.text);
    const run = await api<Run>(url, `/api/runs/${runId}`);
    assert.equal(run.status, 200);
    assert.equal(run.body.id, runId);
    assert.equal(run.body.title, runId);
    assert.equal(run.body.eventCount, 1);
    assert.equal(run.body.lastSeq, 1);
    assert.deepEqual(run.body.metadata, {});
    const list = await api<Run[]>(url, '/api/runs?limit=1000');
    assert.ok(list.body.some((r) => r.id === runId));
  });

  await t.test('GET of an unknown run is 404', async () => {
    const res = await api(url, '/api/runs/no-such-events-run/events');
    assert.equal(res.status, 404);
    assert.match(res.body.error, /no-such-events-run/);
  });

  // One run of 5,300 events carries the cursor, limit and export cases.
  const bigRun = await newRun();
  const BIG = EVENTS_MAX_LIMIT + 300;
  await fill(bigRun, BIG);

  await t.test('GET answers ascending pages, 500 by default', async () => {
    const page = await getEvents(bigRun);
    assert.equal(EVENTS_DEFAULT_LIMIT, 500);
    assert.deepEqual(seqs(page), range(1, 500));
    assert.deepEqual(
      page.map((e) => e.payload.n),
      range(1, 500),
    );
  });

  const cursors: { query: string; expected: number[] }[] = [
    { query: '?after=500', expected: range(501, 1000) },
    { query: '?after=0&limit=3', expected: [1, 2, 3] },
    { query: `?after=${BIG - 2}`, expected: [BIG - 1, BIG] },
    { query: `?after=${BIG}`, expected: [] },
    { query: `?after=${BIG + 50}`, expected: [] },
    { query: '?before=100&limit=10', expected: range(90, 99) },
    { query: '?before=5', expected: [1, 2, 3, 4] },
    { query: '?before=1', expected: [] },
    { query: `?before=${BIG + 1}`, expected: range(BIG - 499, BIG) },
    { query: `?before=${BIG + 1}&limit=2`, expected: [BIG - 1, BIG] },
    { query: `?limit=${EVENTS_MAX_LIMIT}`, expected: range(1, EVENTS_MAX_LIMIT) },
    { query: `?after=10&limit=${EVENTS_MAX_LIMIT}`, expected: range(11, EVENTS_MAX_LIMIT + 10) },
  ];
  for (const { query, expected } of cursors) {
    await t.test(
      `GET ${query} answers seqs ${expected.length ? `${expected[0]}..${expected.at(-1)}` : 'none'}`,
      async () => {
        assert.deepEqual(seqs(await getEvents(bigRun, query)), expected);
      },
    );
  }

  const badQueries: { query: string; error: RegExp }[] = [
    { query: `?limit=${EVENTS_MAX_LIMIT + 1}`, error: /limit.*5001/ },
    { query: '?limit=0', error: /limit.*"0"/ },
    { query: '?limit=many', error: /limit.*"many"/ },
    { query: '?after=-1', error: /after.*"-1"/ },
    { query: '?after=abc', error: /after.*"abc"/ },
    { query: '?before=1.5', error: /before.*"1.5"/ },
    { query: '?level=fatal', error: /level must be one of debug, info, warn, error; got "fatal"/ },
  ];
  for (const { query, error } of badQueries) {
    await t.test(`GET ${query} is refused with 400 naming the parameter`, async () => {
      const res = await api(url, `/api/runs/${bigRun}/events${query}`);
      assert.equal(res.status, 400, res.text.slice(0, 200));
      assert.match(res.body.error, error);
    });
  }

  await t.test('?format=ndjson streams the whole run, every event on its own line', async () => {
    const res = await api(url, `/api/runs/${bigRun}/events?format=ndjson`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/(x-)?ndjson/);
    assert.ok(res.text.endsWith('\n'));
    const lines = res.text.slice(0, -1).split('\n');
    assert.equal(lines.length, BIG);
    const events = lines.map((line) => JSON.parse(line) as AgentEvent);
    assert.deepEqual(seqs(events), range(1, BIG));
    assert.deepEqual(events.slice(0, 500), await getEvents(bigRun));
  });

  await t.test('?format=ndjson of an unknown run is 404 JSON', async () => {
    const res = await api(url, '/api/runs/ndjson-ghost/events?format=ndjson');
    assert.equal(res.status, 404);
    assert.match(res.body.error, /ndjson-ghost/);
  });

  // A run with a mix of types and levels for the filters.
  const mixed = await newRun();
  const mix = [
    { id: 'm1', type: 'tool.called', level: 'info', payload: { toolName: 'ReadFile' } },
    {
      id: 'm2',
      type: 'tool.result',
      level: 'info',
      payload: { toolName: 'ReadFile', result: 'ok' },
    },
    { id: 'm3', type: 'task.progress', level: 'warn', payload: { message: 'Slow Disk detected' } },
    { id: 'm4', type: 'tool.called', level: 'error', payload: { toolName: 'WriteFile' } },
    { id: 'm5', type: 'run.error', level: 'error', payload: { message: 'gave up on disk' } },
    {
      id: 'm6',
      type: 'task.progress',
      level: 'debug',
      payload: { metricName: 'latencyMs', value: 12 },
    },
  ];
  const mixRes = await post(mixed, mix);
  assert.equal(mixRes.status, 201);

  const filters: { query: string; ids: string[] }[] = [
    { query: '?type=tool.called', ids: ['m1', 'm4'] },
    { query: '?type=task.progress', ids: ['m3', 'm6'] },
    { query: '?type=nothing.like.this', ids: [] },
    { query: '?type=tool.*', ids: ['m1', 'm2', 'm4'] },
    { query: '?type=tool.called,run.error', ids: ['m1', 'm4', 'm5'] },
    { query: '?level=warn,error', ids: ['m3', 'm4', 'm5'] },
    { query: '?level=error', ids: ['m4', 'm5'] },
    { query: '?level=debug', ids: ['m6'] },
    { query: '?type=tool.called&level=error', ids: ['m4'] },
    { query: '?q=readfile', ids: ['m1', 'm2'] },
    { query: '?q=disk', ids: ['m3', 'm5'] },
    { query: '?q=disk&level=warn', ids: ['m3'] },
    { query: '?q=latencyMs', ids: ['m6'] },
    { query: '?type=tool.called&limit=1', ids: ['m1'] },
    { query: '?type=tool.called&after=1', ids: ['m4'] },
    { query: '?level=error&before=5', ids: ['m4'] },
  ];
  await t.test('filters scan the whole run, not one page of it', async () => {
    const runId = await newRun();
    await fill(runId, 1200);
    await post(runId, { id: 'needle', type: 'rare.kind', payload: { note: 'Haystack end' } });
    for (const query of ['?type=rare.kind', '?q=haystack', '?type=rare.*&limit=1']) {
      assert.deepEqual(
        (await getEvents(runId, query)).map((e) => [e.id, e.seq]),
        [['needle', 1201]],
        query,
      );
    }
    assert.deepEqual(await getEvents(runId, '?type=rare.kind&before=1201'), []);
  });

  for (const { query, ids } of filters) {
    await t.test(`GET ${query} keeps ${ids.length ? ids.join(', ') : 'nothing'}`, async () => {
      assert.deepEqual(
        (await getEvents(mixed, query)).map((e) => e.id),
        ids,
      );
    });
  }
});
