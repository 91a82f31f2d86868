// Black-box specification of POST /v1/traces with real OpenTelemetry clients: the JS SDK's
// OTLP/HTTP JSON and protobuf exporters send a small agent trace; it must become one run whose
// events are the spans, tool calls and usage of the trace, in time order, stored once.
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { exportSpans, makeAgentTrace, SERVICE_NAME } from './helpers/otel-agent-trace.ts';
import { serverFor } from './helpers/server.ts';

const KEY = 'otlp-test-key';

async function eventsOf(url: string, runId: string): Promise<AgentEvent[]> {
  return (await api<AgentEvent[]>(url, `/api/runs/${runId}/events?limit=5000`)).body;
}

test('POST /v1/traces', async (t) => {
  const server = await serverFor(t);
  const traces = `${server.url}/v1/traces`;
  const agent = makeAgentTrace();
  const runId = `otel-${agent.traceId}`;
  const { ids } = agent;

  await t.test(
    'an SDK trace over OTLP JSON becomes a run with its spans, tool calls and usage in time order',
    async () => {
      await exportSpans(new JsonExporter({ url: traces }), agent.spans);
      const run = (await api<Run>(server.url, `/api/runs/${runId}`)).body;
      assert.equal(run.title, 'invoke_agent coder');
      assert.equal(run.status, 'completed');
      assert.deepEqual(run.metadata, {
        source: 'otlp',
        traceId: agent.traceId,
        'service.name': SERVICE_NAME,
        // The usage totals, as in every run's metadata.
        inputTokens: 2000,
        outputTokens: 460,
      });
      assert.equal(run.toolCallCount, 2);
      assert.equal(run.errorCount, 1, 'the failed tool call');

      const events = await eventsOf(server.url, runId);
      assert.deepEqual(
        events.map((event) => [event.type, event.payload.spanId ?? event.payload.toolCallId]),
        [
          ['span.started', ids.root],
          ['span.started', ids.chat1],
          ['usage.report', ids.chat1],
          ['span.ended', ids.chat1],
          ['tool.called', ids.read],
          ['tool.result', ids.read],
          ['tool.called', ids.bash],
          ['span.started', ids.lint],
          ['span.ended', ids.lint],
          ['tool.result', ids.bash],
          ['span.started', ids.chat2],
          ['usage.report', ids.chat2],
          ['span.ended', ids.chat2],
          ['span.ended', ids.root],
          ['run.completed', undefined],
        ],
      );
      const [rootStarted, chatStarted, usage] = events;
      assert.equal(rootStarted!.ts, '2026-01-02T03:04:05.000Z');
      assert.deepEqual(rootStarted!.payload, {
        spanId: ids.root,
        name: 'invoke_agent coder',
        kind: 'agent',
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder' },
      });
      assert.equal(chatStarted!.payload.parentSpanId, ids.root);
      assert.equal(chatStarted!.payload.kind, 'llm');
      assert.deepEqual(usage!.payload, {
        inputTokens: 1200,
        outputTokens: 340,
        model: 'claude-sonnet-4',
        spanId: ids.chat1,
      });
      const called = events.find((event) => event.type === 'tool.called')!;
      assert.equal(called.payload.toolName, 'read_file');
      assert.deepEqual(called.payload.args, { path: 'src/a.ts' });
      assert.equal(
        (called.payload.attributes as Record<string, unknown>)['gen_ai.tool.call.id'],
        'call_1',
      );
      const failed = events.filter((event) => event.type === 'tool.result')[1]!;
      assert.deepEqual(failed.payload, {
        toolName: 'bash',
        toolCallId: ids.bash,
        error: 'exit status 1',
        duration: 1000,
      });
      assert.equal(failed.level, 'error');
      const lint = events.find((event) => event.payload.spanId === ids.lint)!;
      assert.equal(lint.payload.parentSpanId, ids.bash, 'a span under a tool call nests under it');
    },
  );

  await t.test(
    'the run has the trace as its span tree, with usage per llm call and in all',
    async () => {
      const spans = (
        await api<Array<Record<string, unknown>>>(server.url, `/api/runs/${runId}/spans`)
      ).body;
      assert.deepEqual(
        spans.map((span) => [
          span.spanId,
          span.parentSpanId,
          span.name,
          span.kind,
          span.status,
          span.durationMs,
          span.depth,
        ]),
        [
          [ids.root, null, 'invoke_agent coder', 'agent', 'ok', 5000, 0],
          [ids.chat1, ids.root, 'chat claude-sonnet-4', 'llm', 'ok', 1000, 1],
          [ids.read, ids.root, 'read_file', 'tool', 'ok', 50, 1],
          [ids.bash, ids.root, 'bash', 'tool', 'error', 1000, 1],
          [ids.lint, ids.bash, 'task lint', 'other', 'ok', 600, 2],
          [ids.chat2, ids.root, 'chat claude-sonnet-4', 'llm', 'ok', 2500, 1],
        ],
      );
      assert.deepEqual(spans[1]!.usage, {
        inputTokens: 1200,
        outputTokens: 340,
        model: 'claude-sonnet-4',
      });
      const run = (await api<Run>(server.url, `/api/runs/${runId}`)).body;
      assert.deepEqual(run.usage, { inputTokens: 2000, outputTokens: 460 });
    },
  );

  await t.test(
    'the same spans again, over protobuf and gzipped JSON, store nothing new',
    async () => {
      const before = (await api<Run>(server.url, `/api/runs/${runId}`)).body.eventCount;
      await exportSpans(new ProtobufExporter({ url: traces }), agent.spans);
      await exportSpans(
        new JsonExporter({ url: traces, compression: 'gzip' as never }),
        agent.spans,
      );
      await exportSpans(
        new ProtobufExporter({ url: traces, compression: 'gzip' as never }),
        agent.spans,
      );
      const run = (await api<Run>(server.url, `/api/runs/${runId}`)).body;
      assert.equal(run.eventCount, before);
      assert.equal((await eventsOf(server.url, runId)).length, before);
    },
  );

  await t.test(
    'spans sent one request each, children first, make one titled, completed run',
    async () => {
      const other = makeAgentTrace();
      const otherRun = `otel-${other.traceId}`;
      const exporter = new ProtobufExporter({ url: traces });
      const rootSpan = other.spans.find((span) => span.spanContext().spanId === other.ids.root)!;
      const children = other.spans.filter((span) => span !== rootSpan);
      for (const span of children) await exportSpans(exporter, [span]);
      const early = (await api<Run>(server.url, `/api/runs/${otherRun}`)).body;
      assert.equal(early.status, 'running', 'a trace whose root has not ended is still running');
      assert.equal(early.title, otherRun, 'untitled until the root span comes');
      await exportSpans(exporter, [rootSpan]);
      const run = (await api<Run>(server.url, `/api/runs/${otherRun}`)).body;
      assert.equal(run.title, 'invoke_agent coder');
      assert.equal(run.status, 'completed');
      assert.equal(run.eventCount, 15);
    },
  );

  await t.test('a root span with an error status ends the run with that error', async () => {
    const body = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'aa'.repeat(16),
                  spanId: 'bb'.repeat(8),
                  name: 'invoke_agent broken',
                  startTimeUnixNano: '1767323045000000000',
                  endTimeUnixNano: '1767323046000000123',
                  attributes: [{ key: 'error.type', value: { stringValue: 'Timeout' } }],
                  status: { code: 2, message: 'model timed out' },
                },
              ],
            },
          ],
        },
      ],
    };
    const answer = await api(server.url, '/v1/traces', { body });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {});
    const run = (await api<Run>(server.url, `/api/runs/otel-${'aa'.repeat(16)}`)).body;
    assert.equal(run.status, 'error');
    assert.equal(run.errorMessage, 'model timed out');
    const events = await eventsOf(server.url, run.id);
    assert.equal(events.at(-1)!.ts, '2026-01-02T03:04:06.000000123Z', 'nanoseconds are kept');
    assert.deepEqual(events.at(-1)!.payload, {
      message: 'model timed out',
      errorType: 'Timeout',
      by: 'otel',
    });
  });

  await t.test('with a key set, /v1/traces needs it like /api', async (t) => {
    const guarded = await serverFor(t, { env: { AGENTOPS_API_KEY: KEY } });
    const url = `${guarded.url}/v1/traces`;
    const refused = await api(guarded.url, '/v1/traces', { body: {} });
    assert.equal(refused.status, 401);
    await assert.rejects(exportSpans(new JsonExporter({ url }), agent.spans));
    await exportSpans(new ProtobufExporter({ url, headers: { 'x-api-key': KEY } }), agent.spans);
    const run = await api<Run>(guarded.url, `/api/runs/${runId}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    assert.equal(run.body.eventCount, 15);
  });
});
