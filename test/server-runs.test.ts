// Black-box specification of the run routes: POST / GET / PATCH / DELETE /api/runs and how stored
// events move a run's status and counters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RUN_STATUSES, RUNS_DEFAULT_LIMIT, RUNS_MAX_LIMIT } from '../shared/constants.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api, type JsonResponse } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** The URL of the `rel="next"` link of a Link header, or undefined. */
function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header);
  return match?.[1];
}

test('/api/runs', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  let counter = 0;
  /** A Link target (absolute or relative) as a path with its query. */
  const pathOf = (link: string) => {
    const target = new URL(link, url);
    return target.pathname + target.search;
  };
  const uniqueId = (prefix: string) => `${prefix}-${++counter}`;

  const createRun = async (body: object = {}): Promise<Run> => {
    const res = await api<Run>(url, '/api/runs', { method: 'POST', body });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  const getRun = async (id: string): Promise<Run> => {
    const res = await api<Run>(url, `/api/runs/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body;
  };
  const postEvent = async (runId: string, event: object): Promise<AgentEvent> => {
    const res = await api<AgentEvent>(url, `/api/runs/${runId}/events`, {
      method: 'POST',
      body: event,
    });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };

  await t.test(
    'POST without an id answers 201 with a new run named run-<epoch ms>-<random>',
    async () => {
      const before = Date.now();
      const res = await api<Run>(url, '/api/runs', { method: 'POST', body: { title: 'first' } });
      const after = Date.now();
      assert.equal(res.status, 201, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const run = res.body;
      const match = /^run-(\d+)-([A-Za-z0-9]+)$/.exec(run.id);
      assert.ok(match, `default id ${JSON.stringify(run.id)}`);
      const epochMs = Number(match[1]);
      assert.ok(
        epochMs >= before && epochMs <= after,
        `epoch ${epochMs} not in [${before}, ${after}]`,
      );
      assert.equal(run.title, 'first');
      assert.ok((RUN_STATUSES as readonly string[]).includes(run.status), run.status);
      assert.match(run.startedAt, ISO);
      assert.match(run.updatedAt, ISO);
      assert.deepEqual(run.metadata, {});
      assert.equal(run.eventCount, 0);
      assert.equal(run.toolCallCount, 0);
      assert.equal(run.errorCount, 0);
      assert.equal(run.lastSeq, 0);
      assert.equal(run.endedAt, undefined);
      assert.deepEqual(await getRun(run.id), run);
    },
  );

  await t.test(
    'a run without a title is titled by its id; an empty body is a run too',
    async () => {
      const res = await api<Run>(url, '/api/runs', { method: 'POST' });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.title, res.body.id);
      assert.equal(res.body.status, 'running', 'a new run is running unless told otherwise');
    },
  );

  await t.test('two POSTs without an id get two different ids', async () => {
    const [a, b] = await Promise.all([createRun(), createRun()]);
    assert.notEqual(a.id, b.id);
  });

  await t.test('POST with an id, title, status and metadata stores them as given', async () => {
    const id = uniqueId('given');
    const run = await createRun({
      id,
      title: 'Given run',
      status: 'queued',
      metadata: { owner: 'ana', n: 3, nested: { deep: [1, 2] } },
    });
    assert.equal(run.id, id);
    assert.equal(run.title, 'Given run');
    assert.equal(run.status, 'queued');
    assert.deepEqual(run.metadata, { owner: 'ana', n: 3, nested: { deep: [1, 2] } });
  });

  await t.test(
    'POST with an existing id answers 200 with the run unchanged, metadata kept',
    async () => {
      const id = uniqueId('repost');
      const original = await createRun({ id, title: 'Original', metadata: { keep: 'me', n: 1 } });
      await postEvent(id, { type: 'task.progress' });
      const stored = await getRun(id);
      const again = await api<Run>(url, '/api/runs', {
        method: 'POST',
        body: { id, title: 'Replaced?', status: 'queued', metadata: { other: true } },
      });
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.body, stored);
      assert.equal(again.body.title, 'Original');
      assert.deepEqual(again.body.metadata, original.metadata);
      assert.deepEqual(await getRun(id), stored);
    },
  );

  await t.test('GET /api/runs/:id answers the run, or 404 naming the id', async () => {
    const run = await createRun({ title: 'fetch me' });
    assert.deepEqual(await getRun(run.id), run);
    const missing = await api(url, '/api/runs/no-such-run');
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /no-such-run/);
  });

  await t.test('GET /api/runs is a bare array, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createRun({ id: uniqueId('order') })).id);
    const res = await api<Run[]>(url, `/api/runs?limit=${RUNS_MAX_LIMIT}`);
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body), 'a bare array');
    const listed = res.body.map((run) => run.id).filter((id) => ids.includes(id));
    assert.deepEqual(listed, [...ids].reverse());
    for (let i = 1; i < res.body.length; i++) {
      assert.ok(res.body[i - 1]!.startedAt >= res.body[i]!.startedAt, 'sorted by startedAt desc');
    }
  });

  await t.test('?limit defaults to 100, accepts up to 1000 and refuses more', async () => {
    const all = await api<Run[]>(url, `/api/runs?limit=${RUNS_MAX_LIMIT}`);
    for (let i = all.body.length; i <= RUNS_DEFAULT_LIMIT + 5; i++) await createRun();
    const total = (await api<Run[]>(url, `/api/runs?limit=${RUNS_MAX_LIMIT}`)).body.length;
    assert.ok(total > RUNS_DEFAULT_LIMIT);
    const page = await api<Run[]>(url, '/api/runs');
    assert.equal(page.body.length, RUNS_DEFAULT_LIMIT);
    assert.ok(nextLink(page.headers.get('link')), 'a Link rel="next" when more runs exist');
    const limited = await api<Run[]>(url, '/api/runs?limit=3');
    assert.equal(limited.body.length, 3);
    const tooMany = await api(url, `/api/runs?limit=${RUNS_MAX_LIMIT + 1}`);
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error, /limit.*1001/);
    for (const bad of ['0', '-1', 'ten', '2.5']) {
      const res = await api(url, `/api/runs?limit=${bad}`);
      assert.equal(res.status, 400, `limit=${bad}`);
      assert.match(res.body.error, /limit/);
    }
  });

  await t.test(
    '?before=<runId> pages through the list, Link rel="next" until the end',
    async () => {
      const full = (await api<Run[]>(url, `/api/runs?limit=${RUNS_MAX_LIMIT}`)).body.map(
        (r) => r.id,
      );
      const pivot = full[10]!;
      const after = await api<Run[]>(url, `/api/runs?before=${pivot}&limit=5`);
      assert.deepEqual(
        after.body.map((r) => r.id),
        full.slice(11, 16),
      );

      const walked: string[] = [];
      let next: string | undefined = '/api/runs?limit=17';
      let pages = 0;
      while (next) {
        const res: JsonResponse<Run[]> = await api(url, pathOf(next));
        assert.equal(res.status, 200, res.text);
        assert.ok(res.body.length <= 17);
        walked.push(...res.body.map((r) => r.id));
        next = nextLink(res.headers.get('link'));
        if (next) assert.match(next, /before=/);
        assert.ok(++pages <= full.length, 'paging terminates');
      }
      assert.deepEqual(walked, full);
      const last = await api<Run[]>(url, `/api/runs?before=${full.at(-1)}`);
      assert.deepEqual(last.body, []);
      assert.equal(nextLink(last.headers.get('link')), undefined);
    },
  );

  await t.test('?status= keeps only runs with that status; a bad status is refused', async () => {
    const tag = uniqueId('statusfilter');
    const done = await createRun({ id: `${tag}-done`, title: tag });
    await createRun({ id: `${tag}-open`, title: tag, status: 'running' });
    await postEvent(done.id, { type: 'run.completed' });
    const res = await api<Run[]>(url, `/api/runs?status=completed&q=${tag}`);
    assert.deepEqual(
      res.body.map((r) => r.id),
      [done.id],
    );
    const every = await api<Run[]>(url, `/api/runs?status=completed&limit=${RUNS_MAX_LIMIT}`);
    assert.ok(every.body.length >= 1);
    assert.ok(every.body.every((r) => r.status === 'completed'));
    const bad = await api(url, '/api/runs?status=finished');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /status must be one of .*; got "finished"/);
  });

  await t.test('?q= searches titles, ids and metadata values, case-insensitively', async () => {
    const tag = `Needle${++counter}`;
    const byTitle = await createRun({ title: `has ${tag} in title` });
    const byId = await createRun({ id: `id-${tag}-x` });
    const byMeta = await createRun({ metadata: { owner: `owner-${tag}` } });
    await createRun({ title: 'unrelated', metadata: { [tag]: 'the tag only as a key' } });
    const res = await api<Run[]>(url, `/api/runs?q=${tag.toLowerCase()}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((r) => r.id).sort(), [byTitle.id, byId.id, byMeta.id].sort());
  });

  await t.test('?q= combines with ?before= paging and the Link keeps the filter', async () => {
    const tag = `pagetag${++counter}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createRun({ title: `${tag} ${i}` })).id);
    const walked: string[] = [];
    let next: string | undefined = `/api/runs?q=${tag}&limit=3`;
    while (next) {
      const res: JsonResponse<Run[]> = await api(url, pathOf(next));
      walked.push(...res.body.map((r) => r.id));
      next = nextLink(res.headers.get('link'));
      if (next) assert.match(next, new RegExp(`q=${tag}`));
      assert.ok(walked.length <= ids.length, 'no run listed twice');
    }
    assert.deepEqual(walked, [...ids].reverse());
  });

  await t.test('PATCH merges metadata key by key and changes the title', async () => {
    const run = await createRun({ title: 'before', metadata: { a: 1, b: 2, nested: { x: 1 } } });
    const res = await api<Run>(url, `/api/runs/${run.id}`, {
      method: 'PATCH',
      body: { title: 'after', metadata: { b: 3, c: 4, nested: { y: 2 } } },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.title, 'after');
    assert.deepEqual(res.body.metadata, { a: 1, b: 3, c: 4, nested: { y: 2 } });
    assert.deepEqual(await getRun(run.id), res.body);
  });

  await t.test('PATCH removes a metadata key set to null', async () => {
    const run = await createRun({ metadata: { keep: 1, drop: 2 } });
    const res = await api<Run>(url, `/api/runs/${run.id}`, {
      method: 'PATCH',
      body: { metadata: { drop: null } },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.metadata, { keep: 1 });
  });

  await t.test('PATCH validates status, naming the allowed values and the bad one', async () => {
    const run = await createRun();
    const res = await api(url, `/api/runs/${run.id}`, {
      method: 'PATCH',
      body: { status: 'finished' },
    });
    assert.equal(res.status, 400);
    assert.equal(
      res.body.error,
      'status must be one of queued, running, paused, completed, error, stopped; got "finished"',
    );
    assert.deepEqual(await getRun(run.id), run);
  });

  await t.test('PATCH sets status and errorMessage; a terminal status sets endedAt', async () => {
    const run = await createRun();
    const res = await api<Run>(url, `/api/runs/${run.id}`, {
      method: 'PATCH',
      body: { status: 'error', errorMessage: 'it broke' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'error');
    assert.equal(res.body.errorMessage, 'it broke');
    assert.match(res.body.endedAt ?? '', ISO);
  });

  await t.test('PATCH of an unknown run is 404 and does not create it', async () => {
    const res = await api(url, '/api/runs/patch-ghost', { method: 'PATCH', body: { title: 'x' } });
    assert.equal(res.status, 404);
    assert.match(res.body.error, /patch-ghost/);
    assert.equal((await api(url, '/api/runs/patch-ghost')).status, 404);
  });

  await t.test(
    'DELETE answers 204; the run and its events are gone; a second DELETE is 404',
    async () => {
      const id = uniqueId('doomed');
      await createRun({ id, metadata: { old: true } });
      await postEvent(id, { id: 'e1', type: 'task.progress' });
      await postEvent(id, { id: 'e2', type: 'task.progress' });
      const res = await api(url, `/api/runs/${id}`, { method: 'DELETE' });
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      assert.equal((await api(url, `/api/runs/${id}`)).status, 404);
      assert.equal((await api(url, `/api/runs/${id}/events`)).status, 404);
      const list = await api<Run[]>(url, `/api/runs?limit=${RUNS_MAX_LIMIT}`);
      assert.ok(!list.body.some((r) => r.id === id), 'not listed');
      const again = await api(url, `/api/runs/${id}`, { method: 'DELETE' });
      assert.equal(again.status, 404);

      // Re-using the id starts from nothing: no old metadata, events or ids.
      const reborn = await createRun({ id });
      assert.deepEqual(reborn.metadata, {});
      assert.equal(reborn.eventCount, 0);
      const event = await postEvent(id, { id: 'e1', type: 'task.progress' });
      assert.equal(event.seq, 1);
      const events = await api<AgentEvent[]>(url, `/api/runs/${id}/events`);
      assert.deepEqual(
        events.body.map((e) => e.id),
        ['e1'],
      );
    },
  );

  await t.test(
    'events keep eventCount, toolCallCount, errorCount, lastSeq and lastEventAt',
    async () => {
      const run = await createRun();
      const sent: object[] = [
        { type: 'run.started', ts: '2024-05-01T12:00:00.000Z' },
        { type: 'tool.called', payload: { toolName: 'Read', toolCallId: 'c1' } },
        { type: 'tool.result', payload: { toolName: 'Read', toolCallId: 'c1', result: 'ok' } },
        { type: 'tool.called', payload: { toolName: 'Write', toolCallId: 'c2' } },
        { type: 'tool.result', payload: { toolName: 'Write', toolCallId: 'c2', error: 'denied' } },
        { type: 'tool.called', payload: { toolName: 'Bash', toolCallId: 'c3' } },
        { type: 'tool.result', payload: { toolName: 'Bash', toolCallId: 'c3', success: false } },
        { type: 'agent.stderr', level: 'error', payload: { line: 1, text: 'boom' } },
        { type: 'task.progress', level: 'warn' },
        // A producer whose clock runs far ahead does not make the run look alive.
        { type: 'metric', ts: '2099-05-01T12:00:09.000Z', payload: { name: 'x', value: 1 } },
      ];
      for (const event of sent) await postEvent(run.id, event);
      const receivedBy = new Date().toISOString();
      const after = await getRun(run.id);
      assert.equal(after.eventCount, 10);
      assert.equal(after.toolCallCount, 3);
      assert.equal(after.errorCount, 3);
      assert.equal(after.lastSeq, 10);
      // The server's clock: when the newest event arrived, never the producer's ts.
      assert.ok(after.lastEventAt! >= run.startedAt && after.lastEventAt! <= receivedBy);
      assert.ok(after.updatedAt >= run.updatedAt);
      // A duplicate changes nothing.
      const events = await api<AgentEvent[]>(url, `/api/runs/${run.id}/events`);
      const dup = await api(url, `/api/runs/${run.id}/events`, {
        method: 'POST',
        body: { id: events.body[1]!.id, type: 'tool.called' },
      });
      assert.equal(dup.status, 200);
      const same = await getRun(run.id);
      assert.equal(same.eventCount, 10);
      assert.equal(same.toolCallCount, 3);
      assert.equal(same.lastSeq, 10);
    },
  );

  const effects: {
    name: string;
    events: object[];
    status: string;
    errorMessage?: string;
    ended: boolean;
  }[] = [
    {
      name: 'run.completed completes the run',
      events: [{ type: 'run.completed' }],
      status: 'completed',
      ended: true,
    },
    {
      name: 'run.error errors it with payload.message',
      events: [
        { type: 'run.error', level: 'error', payload: { message: 'bad step', error: 'ignored' } },
      ],
      status: 'error',
      errorMessage: 'bad step',
      ended: true,
    },
    {
      name: 'an event of type error errors it with payload.error',
      events: [{ type: 'error', payload: { error: 'disk full' } }],
      status: 'error',
      errorMessage: 'disk full',
      ended: true,
    },
    {
      name: 'run.stopped stops it',
      events: [{ type: 'run.stopped' }],
      status: 'stopped',
      ended: true,
    },
    {
      name: 'run.paused pauses it',
      events: [{ type: 'run.paused' }],
      status: 'paused',
      ended: false,
    },
    {
      name: 'run.resumed resumes a paused run',
      events: [{ type: 'run.paused' }, { type: 'run.resumed' }],
      status: 'running',
      ended: false,
    },
    {
      name: 'a later run.error does not change a completed run',
      events: [{ type: 'run.completed' }, { type: 'run.error', payload: { message: 'late' } }],
      status: 'completed',
      ended: true,
    },
    {
      name: 'a later run.resumed does not reopen a stopped run',
      events: [{ type: 'run.stopped' }, { type: 'run.resumed' }],
      status: 'stopped',
      ended: true,
    },
    {
      name: 'a later run.completed does not change an errored run or its message',
      events: [{ type: 'run.error', payload: { message: 'first' } }, { type: 'run.completed' }],
      status: 'error',
      errorMessage: 'first',
      ended: true,
    },
    {
      name: 'other events leave the status alone',
      events: [{ type: 'task.progress' }, { type: 'tool.called' }, { type: 'run.started' }],
      status: 'running',
      ended: false,
    },
  ];
  for (const effect of effects) {
    await t.test(`events move the run: ${effect.name}`, async () => {
      const run = await createRun({ status: 'running' });
      for (const event of effect.events) await postEvent(run.id, event);
      const after = await getRun(run.id);
      assert.equal(after.status, effect.status);
      assert.equal(after.errorMessage, effect.errorMessage);
      if (effect.ended) assert.match(after.endedAt ?? '', ISO);
      else assert.equal(after.endedAt, undefined);
      assert.equal(after.eventCount, effect.events.length, 'every event is stored');
      const events = await api<AgentEvent[]>(url, `/api/runs/${run.id}/events`);
      assert.deepEqual(
        events.body.map((e) => e.type),
        effect.events.map((e) => (e as { type: string }).type),
      );
    });
  }

  await t.test('PATCH may change a terminal status that events cannot', async () => {
    const run = await createRun({ status: 'running' });
    await postEvent(run.id, { type: 'run.completed' });
    const res = await api<Run>(url, `/api/runs/${run.id}`, {
      method: 'PATCH',
      body: { status: 'running' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'running');
    assert.equal(res.body.endedAt, undefined, 'a run made non-terminal has not ended');
    await postEvent(run.id, { type: 'run.error', payload: { message: 'second attempt failed' } });
    const after = await getRun(run.id);
    assert.equal(after.status, 'error');
    assert.equal(after.errorMessage, 'second attempt failed');
  });
});
