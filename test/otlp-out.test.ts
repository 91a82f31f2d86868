// Black-box specification of `serve --otlp-endpoint`: what a run becomes in OTLP (checked against
// the OpenTelemetry SDK's own JSON serializer for the same spans), and delivery like the
// Collector's: a receiver that fails, throttles and recovers gets everything, a 400 is counted and
// skipped, a restart loses nothing, /health tells the lag.
import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { Health } from '../shared/types.ts';
import { runCli } from './helpers/cli.ts';
import { api } from './helpers/http.ts';
import { startReceiver, TAKE, type OtlpJsonSpan, type Receiver } from './helpers/otlp-receiver.ts';
import { serverFor, startServer, tempDir, type ServerHandle } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const T0 = Date.parse('2026-03-04T05:06:07.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const SERVICE = 'agent-ops-test';

/** The id rule of docs/protocol.md, computed here on its own. */
const traceIdOf = (runId: string) => createHash('sha256').update(runId).digest('hex').slice(0, 32);
const spanIdOf = (runId: string, spanId: string) =>
  createHash('sha256').update(`${runId}\u0000${spanId}`).digest('hex').slice(0, 16);

async function exportingServer(
  t: { after(fn: () => Promise<void>): void },
  receiver: Receiver,
  extra: { args?: string[]; env?: Record<string, string>; dataDir?: string } = {},
): Promise<ServerHandle> {
  return serverFor(t, {
    dataDir: extra.dataDir,
    args: ['--otlp-endpoint', receiver.url, ...(extra.args ?? [])],
    env: { OTEL_SERVICE_NAME: SERVICE, ...extra.env },
  });
}

async function otlpHealth(server: ServerHandle): Promise<NonNullable<Health['otlp']>> {
  return (await api<Health>(server.url, '/health')).body.otlp!;
}

/** `count` finished task spans in one POST. */
function taskSpans(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => [
    { type: 'span.started', payload: { spanId: `${prefix}${i}`, name: `step ${i}`, kind: 'task' } },
    { type: 'span.ended', payload: { spanId: `${prefix}${i}`, status: 'ok' } },
  ]).flat();
}

function spanIds(spans: OtlpJsonSpan[]): Set<string> {
  return new Set(spans.map((span) => span.spanId));
}

/**
 * Two OTLP JSON requests compared as proto3 JSON says they mean: fields at their default value
 * dropped, 64-bit integers as decimal strings either way, attributes (a map) and spans in a
 * fixed order. `flags` (W3C trace flags, which we do not send) is left out of the comparison.
 */
function canonical(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => canonical(item)).filter((item) => item !== undefined);
    if (items.length === 0) return undefined;
    if (key === 'attributes' || key === 'values')
      items.sort((a, b) =>
        String((a as { key?: string }).key).localeCompare(String((b as { key?: string }).key)),
      );
    if (key === 'spans')
      items.sort((a, b) =>
        String((a as { spanId: string }).spanId).localeCompare((b as { spanId: string }).spanId),
      );
    return items;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'flags') continue;
      const c = k === 'intValue' ? String(v) : canonical(v, k);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (value === 0 || value === '' || value === undefined || value === null) return undefined;
  return value;
}

function hr(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

test('serve --otlp-endpoint', async (t) => {
  await t.test('a run goes out exactly as the OTel SDK would encode its spans', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const server = await exportingServer(t, receiver);
    const runId = 'exact-run';
    await api(server.url, '/api/runs', {
      body: { id: runId, title: 'fix the tests', metadata: { repo: 'agent-ops', attempt: 2 } },
    });
    const events = [
      {
        ts: at(0),
        type: 'span.started',
        payload: { spanId: 'agent', name: 'coder', kind: 'agent' },
      },
      {
        ts: at(100),
        type: 'span.started',
        payload: {
          spanId: 'llm-1',
          parentSpanId: 'agent',
          name: 'think',
          kind: 'llm',
          attributes: { 'gen_ai.request.model': 'claude-sonnet-4' },
        },
      },
      {
        ts: at(900),
        type: 'usage.report',
        payload: {
          spanId: 'llm-1',
          inputTokens: 1200,
          outputTokens: 340,
          model: 'claude-sonnet-4',
        },
      },
      { ts: at(1000), type: 'span.ended', payload: { spanId: 'llm-1', status: 'ok' } },
      {
        ts: at(1100),
        type: 'tool.called',
        payload: {
          toolName: 'bash',
          toolCallId: 'call-1',
          parentSpanId: 'agent',
          args: { cmd: 'npm test' },
        },
      },
      {
        ts: at(1600),
        type: 'tool.result',
        payload: { toolName: 'bash', toolCallId: 'call-1', error: 'exit status 1' },
      },
      {
        ts: at(1700),
        type: 'span.started',
        payload: { spanId: 'report', parentSpanId: 'agent', name: 'write report', kind: 'task' },
      },
      {
        ts: at(2000),
        type: 'span.ended',
        payload: { spanId: 'agent', status: 'error', error: 'tests failed' },
      },
      { ts: at(2100), type: 'run.error', payload: { message: 'tests failed' } },
    ];
    assert.equal(
      (await api(server.url, `/api/runs/${runId}/events`, { body: events })).status,
      201,
    );
    await waitFor('the run and its five spans at the receiver', () => receiver.taken().length >= 5);

    const traceId = traceIdOf(runId);
    const resource = resourceFromAttributes({ 'service.name': SERVICE });
    const scope = { name: 'agent-ops', version: '0.1.0' };
    const span = (
      id: string,
      parent: string,
      name: string,
      kind: SpanKind,
      [start, end]: [number, number],
      attributes: Record<string, string | number | boolean>,
      error?: string,
    ): ReadableSpan => ({
      name,
      kind,
      spanContext: () => ({ traceId, spanId: spanIdOf(runId, id), traceFlags: 1 }),
      parentSpanContext:
        parent === 'none' ? undefined : { traceId, spanId: spanIdOf(runId, parent), traceFlags: 1 },
      startTime: hr(T0 + start),
      endTime: hr(T0 + end),
      status: error
        ? { code: SpanStatusCode.ERROR, message: error }
        : { code: SpanStatusCode.UNSET },
      attributes,
      links: [],
      events: [],
      duration: hr(end - start),
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    });
    const expected = JsonTraceSerializer.serializeRequest([
      span('llm-1', 'agent', 'chat claude-sonnet-4', SpanKind.CLIENT, [100, 1000], {
        'gen_ai.request.model': 'claude-sonnet-4',
        'agent_ops.span.kind': 'llm',
        'gen_ai.operation.name': 'chat',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.usage.output_tokens': 340,
      }),
      span(
        'call-1',
        'agent',
        'execute_tool bash',
        SpanKind.INTERNAL,
        [1100, 1600],
        {
          'agent_ops.span.kind': 'tool',
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'bash',
          'gen_ai.tool.call.id': 'call-1',
          'error.type': '_OTHER',
        },
        'exit status 1',
      ),
      span(
        'agent',
        '',
        'invoke_agent coder',
        SpanKind.INTERNAL,
        [0, 2000],
        {
          'agent_ops.span.kind': 'agent',
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': 'coder',
          'error.type': '_OTHER',
        },
        'tests failed',
      ),
      span('report', 'agent', 'write report', SpanKind.INTERNAL, [1700, 2100], {
        'agent_ops.span.kind': 'task',
        'agent_ops.span.unfinished': true,
      }),
      span(
        '',
        'none',
        'invoke_agent fix the tests',
        SpanKind.INTERNAL,
        [0, 2100],
        {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': 'fix the tests',
          'agent_ops.run.id': runId,
          'agent_ops.run.status': 'error',
          'agent_ops.run.metadata.repo': 'agent-ops',
          'agent_ops.run.metadata.attempt': 2,
          'agent_ops.run.metadata.inputTokens': 1200,
          'agent_ops.run.metadata.outputTokens': 340,
          'gen_ai.usage.input_tokens': 1200,
          'gen_ai.usage.output_tokens': 340,
          'error.type': '_OTHER',
        },
        'tests failed',
      ),
    ]);
    const reference = JSON.parse(Buffer.from(expected!).toString('utf8'));
    const sent = {
      resourceSpans: [
        {
          ...receiver.requests[0]!.body.resourceSpans[0],
          scopeSpans: [{ scope, spans: receiver.taken() }],
        },
      ],
    };
    assert.deepEqual(canonical(sent), canonical(reference));

    // And the encoding rules themselves, on the bytes we sent.
    const request = receiver.requests[0]!;
    assert.equal(request.path, '/v1/traces');
    assert.equal(request.headers['content-type'], 'application/json');
    for (const sentSpan of receiver.taken()) {
      assert.match(sentSpan.traceId, /^[0-9a-f]{32}$/);
      assert.match(sentSpan.spanId, /^[0-9a-f]{16}$/);
      assert.match(sentSpan.startTimeUnixNano, /^\d+$/, 'times are decimal strings');
      assert.equal(typeof sentSpan.kind, 'number', 'enums are integers');
      for (const attribute of sentSpan.attributes ?? []) {
        if ('intValue' in attribute.value)
          assert.equal(typeof attribute.value.intValue, 'string', '64-bit integers are strings');
      }
    }
    const health = await otlpHealth(server);
    assert.deepEqual(
      { ...health, lastError: undefined },
      { endpoint: `${receiver.url}/v1/traces`, lag: 0, sent: 5, failed: 0, lastError: undefined },
    );
  });

  await t.test(
    'a receiver that fails, throttles and drops the connection gets everything once it recovers',
    async (t) => {
      const script = [
        { status: 503 },
        { status: 429, headers: { 'retry-after': '1' } },
        'drop' as const,
        { status: 502 },
      ];
      const receiver = await startReceiver((n) => script[n] ?? TAKE);
      t.after(() => receiver.close());
      const server = await exportingServer(t, receiver, {
        args: ['--otlp-header', 'x-tenant=team-a'],
        env: { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc' },
      });
      await api(server.url, '/api/runs/retried/events', { body: taskSpans('r', 50) });
      await waitFor('50 spans taken', () => receiver.taken().length === 50);
      assert.deepEqual(
        receiver.requests.map((r) => r.answered),
        [503, 429, 0, 502, 200],
      );
      const first = JSON.stringify(receiver.requests[0]!.body);
      assert.ok(
        receiver.requests.every((r) => JSON.stringify(r.body) === first),
        'the same batch is retried until it is taken',
      );
      assert.equal(receiver.requests[4]!.headers['x-tenant'], 'team-a');
      assert.equal(receiver.requests[4]!.headers.authorization, 'Bearer abc');
      const health = await otlpHealth(server);
      assert.equal(health.sent, 50);
      assert.equal(health.lag, 0);
      assert.match(health.lastError ?? '', /502/);
    },
  );

  await t.test('a collector that never answers holds up export, never ingest', async (t) => {
    const receiver = await startReceiver(() => 'hang');
    t.after(() => receiver.close());
    const server = await exportingServer(t, receiver);
    await api(server.url, '/api/runs/stuck/events', { body: taskSpans('first', 5) });
    await waitFor('the first export request', () => receiver.requests.length === 1);
    for (let i = 0; i < 20; i++) {
      const answer = await api(server.url, '/api/runs/stuck/events', {
        body: taskSpans(`more${i}-`, 50),
      });
      assert.equal(answer.status, 201);
    }
    const health = await otlpHealth(server);
    assert.equal(health.lag, 10 + 20 * 100, 'every event since is waiting to be exported');
    assert.equal(health.sent, 0);
    assert.equal((await api(server.url, '/api/runs/stuck')).body.eventCount, 2010);
  });

  await t.test('a 400 is counted and skipped, and what follows is delivered', async (t) => {
    const receiver = await startReceiver((n) =>
      n === 0 ? { status: 400, body: '{"message":"bad span"}' } : TAKE,
    );
    t.after(() => receiver.close());
    const server = await exportingServer(t, receiver);
    await api(server.url, '/api/runs/refused/events', { body: taskSpans('a', 3) });
    await waitFor('the refused batch counted', async () => (await otlpHealth(server)).failed === 3);
    await api(server.url, '/api/runs/refused/events', { body: taskSpans('b', 2) });
    await waitFor('the next batch taken', () => receiver.taken().length === 2);
    const health = await otlpHealth(server);
    assert.equal(health.failed, 3);
    assert.equal(health.sent, 2);
    assert.match(health.lastError ?? '', /3 spans dropped: collector answered 400/);
    assert.equal(receiver.requests.length, 2, 'the refused batch is never sent again');
  });

  await t.test('a collector down across a server crash and restart loses nothing', async (t) => {
    let down = false;
    const receiver = await startReceiver(() => (down ? { status: 503 } : TAKE));
    t.after(() => receiver.close());
    const dataDir = tempDir();
    const args = ['--otlp-endpoint', receiver.url];
    const env = { OTEL_SERVICE_NAME: SERVICE };
    const first = await startServer({ dataDir, args, env });
    t.after(() => first.kill());
    await api(first.url, '/api/runs/durable/events', { body: taskSpans('before', 20) });
    await waitFor('the first spans taken', () => receiver.taken().length === 20);
    down = true;
    await api(first.url, '/api/runs/durable/events', { body: taskSpans('during', 30) });
    await waitFor('export lagging', async () => (await otlpHealth(first)).lag === 60);
    await first.kill();

    const second = await serverFor(t, { dataDir, args, env });
    assert.equal((await otlpHealth(second)).lag, 60, 'the lag survives the restart');
    down = false;
    await waitFor('every span after the restart', () => spanIds(receiver.taken()).size === 50);
    const ids = spanIds(receiver.taken());
    for (let i = 0; i < 30; i++) assert.ok(ids.has(spanIdOf('durable', `during${i}`)));
    assert.equal(receiver.taken().length, 50, 'spans taken before the crash are not sent again');
    await waitFor('no lag', async () => (await otlpHealth(second)).lag === 0);
  });

  await t.test('a span started before a restart and ended after it goes out whole', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const dataDir = tempDir();
    const args = ['--otlp-endpoint', receiver.url];
    const first = await startServer({ dataDir, args });
    t.after(() => first.kill());
    await api(first.url, '/api/runs/long/events', {
      body: [
        {
          ts: at(0),
          type: 'span.started',
          payload: { spanId: 'outer', name: 'outer', kind: 'agent' },
        },
        {
          ts: at(10),
          type: 'span.started',
          payload: { spanId: 'a', parentSpanId: 'outer', name: 'a', kind: 'task' },
        },
        { ts: at(20), type: 'span.ended', payload: { spanId: 'a' } },
      ],
    });
    await waitFor('the first span', () => receiver.taken().length === 1);
    await waitFor('no lag', async () => (await otlpHealth(first)).lag === 0);
    await first.stop();

    const second = await serverFor(t, { dataDir, args });
    await api(second.url, '/api/runs/long/events', {
      body: [
        {
          ts: at(30),
          type: 'span.started',
          payload: { spanId: 'b', parentSpanId: 'outer', name: 'b', kind: 'task' },
        },
        { ts: at(40), type: 'span.ended', payload: { spanId: 'b' } },
        { ts: at(50), type: 'span.ended', payload: { spanId: 'outer' } },
      ],
    });
    await waitFor('three spans', () => receiver.taken().length === 3);
    const byName = new Map(receiver.taken().map((span) => [span.name, span]));
    const outer = byName.get('invoke_agent outer')!;
    assert.equal(outer.startTimeUnixNano, `${T0}000000`, 'its start came from before the restart');
    assert.equal(outer.endTimeUnixNano, `${T0 + 50}000000`);
    assert.equal(byName.get('b')!.parentSpanId, outer.spanId);
    assert.equal(byName.get('a')!.parentSpanId, outer.spanId);
  });

  await t.test('a run ended by PATCH, with no event, still sends its root span', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const server = await exportingServer(t, receiver);
    await api(server.url, '/api/runs', { body: { id: 'patched', title: 'ended by hand' } });
    await api(server.url, '/api/runs/patched', { method: 'PATCH', body: { status: 'completed' } });
    await waitFor('the root span', () => receiver.taken().length === 1);
    const [root] = receiver.taken();
    assert.equal(root!.name, 'invoke_agent ended by hand');
    assert.equal(root!.spanId, spanIdOf('patched', ''));
    assert.equal(root!.traceId, traceIdOf('patched'));
    assert.equal(root!.parentSpanId, undefined);
  });

  await t.test('a bad endpoint is a usage error', async () => {
    const result = await runCli([
      'serve',
      '--otlp-endpoint',
      'ftp://collector:4318',
      '--port',
      '0',
    ]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /--otlp-endpoint must be an http:\/\/ or https:\/\/ URL; got "ftp:\/\/collector:4318"/,
    );
  });
});
