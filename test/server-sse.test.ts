// Black-box specification of the live streams: GET /api/runs/:id/stream (framing, resume, many
// subscribers, slow subscribers) and GET /api/stream (run changes).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import {
  MAX_BATCH_EVENTS,
  MAX_BODY_BYTES,
  MAX_SUBSCRIBER_BACKLOG_BYTES,
} from '../shared/constants.ts';
import { SseParser, type SseMessage } from '../shared/sse.ts';
import type { AgentEvent, Health, Run, RunChange } from '../shared/types.ts';
import { api, openSse, type SseClient } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

/** Takes messages until one satisfies `predicate`; returns it. */
async function takeUntil(client: SseClient, predicate: (message: SseMessage) => boolean) {
  for (;;) {
    const [message] = await client.take(1);
    if (predicate(message!)) return message!;
  }
}

/**
 * Takes messages up to the one with id `last`, or a later one: a stream that skips events fails
 * the contiguity check at once instead of waiting for messages that never come.
 */
async function takeThrough(client: SseClient, last: number): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for (;;) {
    const [message] = await client.take(1);
    messages.push(message!);
    if (Number(message!.id) >= last) return messages;
  }
}

function assertContiguous(messages: SseMessage[], from: number, to: number, who: string): void {
  const ids = messages.map((m) => Number(m.id));
  const expected = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  if (ids.length !== expected.length || ids.some((id, i) => id !== expected[i])) {
    const bad = ids.findIndex((id, i) => id !== expected[i]);
    assert.fail(
      `${who}: expected ids ${from}..${to}; at index ${bad} got ${ids[bad]} (${ids.slice(Math.max(0, bad - 2), bad + 3)})`,
    );
  }
  for (const message of messages) {
    assert.equal(message.event, 'message');
    assert.equal((JSON.parse(message.data) as AgentEvent).seq, Number(message.id));
  }
}

test('/api/runs/:id/stream and /api/stream', { timeout: 120_000 }, async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  let counter = 0;
  const newRun = async (prefix = 'sse'): Promise<string> => {
    const id = `${prefix}-${++counter}`;
    const res = await api(url, '/api/runs', { method: 'POST', body: { id, status: 'running' } });
    assert.equal(res.status, 201, res.text);
    return id;
  };
  const post = async (runId: string, body: unknown) => {
    const res = await api(url, `/api/runs/${runId}/events`, { method: 'POST', body });
    assert.ok(res.status === 201 || res.status === 200, `${res.status} ${res.text.slice(0, 300)}`);
    return res.body;
  };
  const fill = async (runId: string, count: number, payload: object = {}) => {
    // As many per batch as fit well under the body limit.
    const perBatch = Math.min(
      MAX_BATCH_EVENTS,
      Math.floor(MAX_BODY_BYTES / 2 / (JSON.stringify(payload).length + 30)),
    );
    for (let done = 0; done < count; done += perBatch) {
      const size = Math.min(perBatch, count - done);
      await post(
        runId,
        Array.from({ length: size }, () => ({ type: 'tick', payload })),
      );
    }
  };
  const exportRun = async (runId: string): Promise<AgentEvent[]> => {
    const res = await api(url, `/api/runs/${runId}/events?format=ndjson`);
    return res.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AgentEvent);
  };
  const health = async (): Promise<Health> => (await api<Health>(url, '/health')).body;
  const streams: SseClient[] = [];
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const client = await openSse(url + path, headers);
    streams.push(client);
    return client;
  };
  t.after(() => streams.forEach((s) => s.close()));

  await t.test(
    'frames: SSE headers, retry: 1000, a connected comment, id: <seq> and one data line',
    async () => {
      const runId = await newRun();
      const client = await open(`/api/runs/${runId}/stream`);
      assert.equal(client.status, 200);
      assert.match(client.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(client.headers.get('cache-control'), 'no-cache');
      assert.equal(client.headers.get('x-accel-buffering'), 'no');
      const event = (await post(runId, {
        type: 'task.progress',
        payload: { text: 'line\nbreak' },
      })) as AgentEvent;
      const [message] = await client.take(1);
      assert.equal(message!.id, '1');
      assert.deepEqual(JSON.parse(message!.data), event);
      const raw = client.raw();
      assert.ok(raw.startsWith('retry: 1000\n'), JSON.stringify(raw.slice(0, 40)));
      assert.match(raw, /^: connected$/m);
      assert.ok(raw.includes(`id: 1\ndata: ${JSON.stringify(event)}\n\n`), JSON.stringify(raw));
      client.close();
    },
  );

  await t.test('a new subscriber gets the whole run from seq 1, then live events', async () => {
    const runId = await newRun();
    await fill(runId, 5);
    const client = await open(`/api/runs/${runId}/stream`);
    await post(runId, { type: 'live' });
    const messages = await takeThrough(client, 6);
    assertContiguous(messages, 1, 6, 'subscriber');
    assert.equal(JSON.parse(messages[5]!.data).type, 'live');
    client.close();
  });

  await t.test(
    'replays every missed event after Last-Event-ID, more than 1000 of them',
    async () => {
      const runId = await newRun();
      await fill(runId, 2500);
      const client = await open(`/api/runs/${runId}/stream`, { 'last-event-id': '10' });
      await post(runId, { type: 'live' });
      const messages = await takeThrough(client, 2501);
      assertContiguous(messages, 11, 2501, 'Last-Event-ID: 10');
      const stored = await exportRun(runId);
      assert.deepEqual(
        messages.map((m) => JSON.parse(m.data)),
        stored.slice(10),
      );
      client.close();
    },
  );

  await t.test('?after= replays the same way; Last-Event-ID wins over it', async () => {
    const runId = await newRun();
    await fill(runId, 1200);
    const byAfter = await open(`/api/runs/${runId}/stream?after=100`);
    const both = await open(`/api/runs/${runId}/stream?after=1000`, { 'last-event-id': '50' });
    const atEnd = await open(`/api/runs/${runId}/stream?after=1200`);
    await post(runId, { type: 'live' });
    assertContiguous(await takeThrough(byAfter, 1201), 101, 1201, '?after=100');
    assertContiguous(await takeThrough(both, 1201), 51, 1201, 'Last-Event-ID 50 and ?after=1000');
    assertContiguous(await takeThrough(atEnd, 1201), 1201, 1201, '?after=1200');
    [byAfter, both, atEnd].forEach((c) => c.close());
  });

  await t.test('no gap and no duplicate at the seam while producers keep posting', async () => {
    const runId = await newRun();
    const PRELOADED = 1500;
    // 4 KB each, so replaying them waits on the socket and live events arrive meanwhile.
    await fill(runId, PRELOADED, { text: 'x'.repeat(4000) });
    const PRODUCERS = 4;
    const EACH = 100;
    const BATCHES = 5;
    const BATCH_SIZE = 20;
    const TOTAL = PRELOADED + PRODUCERS * EACH + BATCHES * BATCH_SIZE;
    let acked = 0;
    const waiters: { at: number; resolve: () => void }[] = [];
    const ack = () => {
      acked++;
      for (const w of waiters.filter((w) => acked >= w.at)) w.resolve();
    };
    const whenAcked = (at: number) =>
      new Promise<void>((resolve) => (acked >= at ? resolve() : waiters.push({ at, resolve })));

    const producers = [
      ...Array.from({ length: PRODUCERS }, async (_, p) => {
        for (let i = 0; i < EACH; i++) {
          await post(runId, { id: `p${p}-${i}`, type: 'live.single' });
          ack();
        }
      }),
      (async () => {
        for (let b = 0; b < BATCHES; b++) {
          await post(
            runId,
            Array.from({ length: BATCH_SIZE }, (_, i) => ({
              id: `b${b}-${i}`,
              type: 'live.batch',
            })),
          );
          ack();
        }
      })(),
    ];
    // Subscribers join at different moments of the flow, each from a different cursor.
    const plan: { at: number; path: string; headers?: Record<string, string>; from: number }[] = [
      { at: 0, path: '', from: 1 },
      { at: 0, path: '?after=1400', headers: { 'last-event-id': '700' }, from: 701 },
      { at: 50, path: '?after=1499', from: 1500 },
      { at: 150, path: '', headers: { 'last-event-id': '1000' }, from: 1001 },
      { at: 300, path: '?after=1550', from: 1551 },
    ];
    const subscribers = await Promise.all(
      plan.map(async (p) => {
        await whenAcked(p.at);
        return { ...p, client: await open(`/api/runs/${runId}/stream${p.path}`, p.headers) };
      }),
    );
    await Promise.all(producers);
    const last = (await api<Run>(url, `/api/runs/${runId}`)).body;
    assert.equal(last.lastSeq, TOTAL);
    const stored = await exportRun(runId);
    assert.equal(stored.length, TOTAL);
    // One more event after the flow: each subscriber's stream runs gap-free up to it.
    stored.push((await post(runId, { type: 'after.the.end' })) as AgentEvent);
    for (const s of subscribers) {
      const messages = await takeThrough(s.client, TOTAL + 1);
      assertContiguous(messages, s.from, TOTAL + 1, `subscriber from ${s.from}`);
      assert.deepEqual(
        messages.map((m) => JSON.parse(m.data)),
        stored.slice(s.from - 1),
      );
      s.client.close();
    }
  });

  await t.test('many subscribers of one run each get every event in order', async () => {
    const runId = await newRun();
    const clients = await Promise.all(
      Array.from({ length: 12 }, () => open(`/api/runs/${runId}/stream`)),
    );
    const before = await health();
    assert.ok(before.streams.subscribers >= 12, `subscribers ${before.streams.subscribers}`);
    for (let i = 0; i < 20; i++) await post(runId, { type: 'single', payload: { i } });
    await post(
      runId,
      Array.from({ length: 30 }, (_, i) => ({ type: 'batch', payload: { i } })),
    );
    for (const [n, client] of clients.entries())
      assertContiguous(await takeThrough(client, 50), 1, 50, `client ${n}`);
    clients.forEach((c) => c.close());
  });

  await t.test(
    'hundreds of subscribers of one run, late joiners included, each get every event in order',
    async () => {
      const runId = await newRun();
      const SUBSCRIBERS = 300;
      const PRODUCERS = 20;
      const EACH = 6;
      const MAX_JOINERS = 30;
      const clients = await Promise.all(
        Array.from({ length: SUBSCRIBERS }, () => open(`/api/runs/${runId}/stream`)),
      );
      // Many producers posting one event at a time: records keep arriving while the fan-out to
      // this many subscribers waits its turn, and subscribers join one after another meanwhile.
      let posting = true;
      const joining = (async () => {
        for (let j = 0; j < MAX_JOINERS && posting; j++) {
          clients.push(await open(`/api/runs/${runId}/stream`));
        }
      })();
      await Promise.all(
        Array.from({ length: PRODUCERS }, async (_, p) => {
          for (let i = 0; i < EACH; i++) await post(runId, { type: 'single', payload: { p, i } });
        }),
      );
      posting = false;
      await joining;
      const last = PRODUCERS * EACH;
      for (const [n, client] of clients.entries()) {
        assertContiguous(await takeThrough(client, last), 1, last, `subscriber ${n}`);
        client.close();
      }
    },
  );

  await t.test("an unknown run's stream is 404 and does not create the run", async () => {
    const res = await api(url, '/api/runs/phantom-run/stream');
    assert.equal(res.status, 404);
    assert.match(res.body.error, /phantom-run/);
    assert.equal((await api(url, '/api/runs/phantom-run')).status, 404);
    const list = await api<Run[]>(url, '/api/runs?limit=1000');
    assert.ok(!list.body.some((r) => r.id === 'phantom-run'));
  });

  await t.test('deleting a run ends its streams', async () => {
    const runId = await newRun();
    const client = await open(`/api/runs/${runId}/stream`);
    await post(runId, { type: 'x' });
    await client.take(1);
    assert.equal((await api(url, `/api/runs/${runId}`, { method: 'DELETE' })).status, 204);
    await assert.rejects(client.take(1), /stream ended/);
  });

  await t.test(
    '/api/stream tells of created runs, status changes, counts and deletions',
    async () => {
      const client = await open('/api/stream');
      assert.equal(client.status, 200);
      assert.match(client.headers.get('content-type') ?? '', /^text\/event-stream/);
      const runId = `listed-${++counter}`;
      const change = (m: SseMessage) => JSON.parse(m.data) as RunChange;
      const about = (kind: string, test: (run: Run) => boolean) => (m: SseMessage) => {
        const c = change(m);
        if (c.kind !== kind) return false;
        if (c.kind === 'deleted') return c.id === runId;
        return c.kind === 'run' && c.run.id === runId && test(c.run);
      };

      await api(url, '/api/runs', {
        method: 'POST',
        body: { id: runId, title: 'watched', status: 'queued' },
      });
      const created = change(
        await takeUntil(
          client,
          about('run', () => true),
        ),
      );
      assert.equal(created.kind, 'run');
      assert.equal(created.kind === 'run' && created.run.title, 'watched');
      assert.equal(created.kind === 'run' && created.run.status, 'queued');

      await api(url, `/api/runs/${runId}`, { method: 'PATCH', body: { status: 'running' } });
      await takeUntil(
        client,
        about('run', (run) => run.status === 'running'),
      );

      await api(url, `/api/runs/${runId}`, {
        method: 'PATCH',
        body: { metadata: { owner: 'ana' } },
      });
      await takeUntil(
        client,
        about('run', (run) => run.metadata.owner === 'ana'),
      );

      await post(runId, { type: 'tool.called' });
      await post(runId, { type: 'tool.called' });
      await takeUntil(
        client,
        about('run', (run) => run.eventCount === 2 && run.toolCallCount === 2),
      );

      await post(runId, { type: 'run.completed' });
      const done = change(
        await takeUntil(
          client,
          about('run', (run) => run.status === 'completed'),
        ),
      );
      assert.equal(done.kind === 'run' && done.run.eventCount, 3);

      await api(url, `/api/runs/${runId}`, { method: 'DELETE' });
      assert.deepEqual(
        change(
          await takeUntil(
            client,
            about('deleted', () => true),
          ),
        ),
        {
          kind: 'deleted',
          id: runId,
        },
      );
      assert.ok(client.raw().startsWith('retry: 1000\n'));
      assert.match(client.raw(), /^: connected$/m);
      client.close();
    },
  );

  await t.test(
    'a subscriber that never reads is cut off once its backlog passes the bound',
    async () => {
      const runId = await newRun('slow');
      const baseline = (await health()).streams.subscribers;
      // A raw socket that sends the request and then never reads (HTTP/1.0: no chunked framing).
      const socket = connect(server.port, '127.0.0.1');
      socket.pause();
      socket.write(`GET /api/runs/${runId}/stream HTTP/1.0\r\nHost: localhost\r\n\r\n`);
      let ended = false;
      socket.on('end', () => (ended = true));
      socket.on('error', () => (ended = true));
      while ((await health()).streams.subscribers !== baseline + 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }

      const EVENT_BYTES = 120 * 1024;
      const BATCH = 8; // under the 1 MiB body limit
      const text = 'x'.repeat(EVENT_BYTES);
      const LIMIT_BYTES = 6 * MAX_SUBSCRIBER_BACKLOG_BYTES;
      let posted = 0;
      let maxSeen = 0;
      let cutOff = false;
      while (posted * EVENT_BYTES < LIMIT_BYTES) {
        await post(
          runId,
          Array.from({ length: BATCH }, () => ({ type: 'big', payload: { text } })),
        );
        posted += BATCH;
        const { streams } = await health();
        maxSeen = Math.max(maxSeen, streams.maxBufferedBytes);
        if (streams.subscribers === baseline) {
          cutOff = true;
          break;
        }
      }
      assert.ok(cutOff, `still subscribed after ${posted} events of ${EVENT_BYTES} bytes`);
      assert.ok(maxSeen > 0, '/health reported the backlog while it grew');
      assert.ok(
        maxSeen <= MAX_SUBSCRIBER_BACKLOG_BYTES + BATCH * (EVENT_BYTES + 1024),
        `backlog ${maxSeen} went far past the bound`,
      );
      assert.equal((await health()).streams.maxBufferedBytes < MAX_SUBSCRIBER_BACKLOG_BYTES, true);

      // What did arrive is a gap-free prefix; the client resumes by id and gets the rest.
      const parser = new SseParser();
      const received: SseMessage[] = [];
      let head = '';
      let inBody = false;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        if (!inBody) {
          head += chunk;
          const split = head.indexOf('\r\n\r\n');
          if (split === -1) return;
          inBody = true;
          chunk = head.slice(split + 4);
          head = head.slice(0, split);
        }
        received.push(...parser.push(chunk));
      });
      socket.resume();
      await new Promise<void>((resolve) => {
        if (ended) resolve();
        socket.once('close', () => resolve());
      });
      assert.match(head, /^HTTP\/1\.[01] 200/);
      assert.ok(
        received.length > 0 && received.length < posted,
        `received ${received.length} of ${posted}`,
      );
      const lastId = received.length;
      assertContiguous(received, 1, lastId, 'slow subscriber');
      const resumed = await open(`/api/runs/${runId}/stream`, { 'last-event-id': String(lastId) });
      assertContiguous(
        await takeThrough(resumed, posted),
        lastId + 1,
        posted,
        'resumed subscriber',
      );
      resumed.close();
      assert.equal((await api(url, '/health')).status, 200, 'the server is fine');
    },
  );
});
