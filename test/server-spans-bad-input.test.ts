// Black-box specification of spans from odd or hostile input: each case is stored or refused as
// the protocol says, and the trace stays whole and readable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

async function spansOf(url: string, runId: string, events: unknown[]): Promise<any[]> {
  const res = await api(url, `/api/runs/${runId}/events`, { body: events });
  assert.equal(res.status, 201, res.text);
  const spans = await api(url, `/api/runs/${runId}/spans`);
  assert.equal(spans.status, 200);
  return spans.body;
}

const started = (spanId: string, parentSpanId?: string, name = spanId) => ({
  type: 'span.started',
  payload: { spanId, name, ...(parentSpanId ? { parentSpanId } : {}) },
});
const ended = (spanId: string, extra: object = {}) => ({
  type: 'span.ended',
  payload: { spanId, ...extra },
});

test('spans from bad input', async (t) => {
  const server = await serverFor(t);

  await t.test('a span ended twice keeps its first end and says so', async () => {
    const [span] = await spansOf(server.url, 'twice', [
      started('a'),
      ended('a', { status: 'ok' }),
      ended('a', { status: 'error', error: 'late' }),
    ]);
    assert.equal(span.status, 'ok');
    assert.equal(span.endSeq, 2);
    assert.match(span.notes.join(), /ended again by event 3/);
  });

  await t.test('an end that arrives before its start is applied when the start comes', async () => {
    const [span] = await spansOf(server.url, 'early', [
      { ...ended('b', { ts: 2000 }) },
      { ...started('b'), payload: { spanId: 'b', name: 'b', ts: 1000 } },
    ]);
    assert.equal(span.status, 'ok');
    assert.equal(span.durationMs, 1000);
    assert.match(span.notes.join(), /arrived before its start/);
  });

  await t.test('an end time before the start time gives a zero duration, noted', async () => {
    const [span] = await spansOf(server.url, 'backwards', [
      { type: 'span.start', payload: { spanId: 'c', name: 'c', kind: 'task', ts: 5000 } },
      { type: 'span.end', payload: { spanId: 'c', ts: 4000 } },
    ]);
    assert.equal(span.durationMs, 0);
    assert.match(span.notes.join(), /1000 ms before its start/);
  });

  await t.test('a span whose parent never arrives is a root that names its parent', async () => {
    const spans = await spansOf(server.url, 'orphan', [started('child', 'ghost')]);
    assert.equal(spans[0].parentSpanId, 'ghost');
    assert.equal(spans[0].depth, 0);
    assert.match(spans[0].notes.join(), /"ghost" never arrived/);
    // When the parent does arrive, the child moves under it.
    const later = await spansOf(server.url, 'orphan', [started('ghost')]);
    assert.deepEqual(
      later.map((span) => [span.spanId, span.depth]),
      [
        ['ghost', 0],
        ['child', 1],
      ],
    );
    assert.equal(later[1].notes, undefined);
  });

  await t.test('a cycle of parents is broken, every span still listed once', async () => {
    const spans = await spansOf(server.url, 'cycle', [
      started('x', 'y'),
      started('y', 'z'),
      started('z', 'x'),
    ]);
    assert.deepEqual(spans.map((span) => span.spanId).sort(), ['x', 'y', 'z']);
    assert.equal(spans[0].depth, 0);
    assert.match(spans[0].notes.join(), /cycle/);
    assert.deepEqual(
      spans.map((span) => span.depth),
      [0, 1, 2],
    );
  });

  await t.test('a spanId reused in another run is another span', async () => {
    await spansOf(server.url, 'run-one', [started('same', undefined, 'first'), ended('same')]);
    const [span] = await spansOf(server.url, 'run-two', [started('same', undefined, 'second')]);
    assert.equal(span.name, 'second');
    assert.equal(span.status, 'running');
    const [first] = (await api(server.url, '/api/runs/run-one/spans')).body;
    assert.equal(first.name, 'first');
    assert.equal(first.status, 'ok');
  });

  const refused: Array<[string, object, RegExp]> = [
    [
      'negative tokens',
      { inputTokens: -5 },
      /payload\.inputTokens must be a number of 0 or more; got -5/,
    ],
    [
      'a string cost',
      { costUsd: '0.10' },
      /payload\.costUsd must be a number of 0 or more; got "0.10"/,
    ],
    ['a NaN-like value', { outputTokens: null, totalTokens: 'lots' }, /totalTokens .*got "lots"/],
  ];
  for (const [what, payload, message] of refused) {
    await t.test(
      `usage with ${what} is refused with a message, and nothing is counted`,
      async () => {
        const res = await api(server.url, '/api/runs/usage-bad/events', {
          body: { type: 'usage.report', payload },
        });
        assert.equal(res.status, 400);
        assert.match(res.body.error, message);
      },
    );
  }

  await t.test('span events without a spanId are refused', async () => {
    for (const body of [
      { type: 'span.started', payload: { name: 'x' } },
      { type: 'span.end', payload: { spanId: 7 } },
      { type: 'span.ended', payload: { spanId: 'a', status: 'done' } },
    ]) {
      const res = await api(server.url, '/api/runs/span-bad/events', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error, /^event\.payload\.(spanId|status) /);
    }
    const run = await api(server.url, '/api/runs/usage-bad');
    assert.equal(run.status, 404, 'no valid event ever created the run');
  });

  await t.test('10,000 children under one span are all listed, in order', async () => {
    const events: unknown[] = [started('parent')];
    for (let i = 0; i < 10_000; i++) events.push(started(`kid-${i}`, 'parent'));
    for (let i = 0; i < events.length; i += 1000)
      assert.equal(
        (await api(server.url, '/api/runs/wide/events', { body: events.slice(i, i + 1000) }))
          .status,
        201,
      );
    const spans = (await api(server.url, '/api/runs/wide/spans')).body as any[];
    assert.equal(spans.length, 10_001);
    assert.equal(spans[0].spanId, 'parent');
    assert.equal(spans[10_000].spanId, 'kid-9999');
    assert.ok(spans.slice(1).every((span, i) => span.spanId === `kid-${i}` && span.depth === 1));
    const summary = (await api(server.url, '/api/runs/wide/summary')).body;
    assert.equal(summary.spanCount, 10_001);
    assert.equal(summary.runningSpans, 10_001);
  });

  await t.test('hostile names are stored and answered as plain text', async () => {
    const name = '<img src=x onerror=alert(1)>"\u0000\u202e';
    const [span] = await spansOf(server.url, 'hostile', [
      { type: 'span.started', payload: { spanId: '</script>', name, kind: '<b>' } },
    ]);
    assert.equal(span.name, name);
    assert.equal(span.spanId, '</script>');
    assert.equal(span.kind, 'other', 'an unknown kind is "other"');
  });
});
