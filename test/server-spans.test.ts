// Black-box specification of a run's trace: spans from span events and tool calls, the summary,
// usage, the original server's /usage and /trace-summary, and all of it after a restart.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { startServer, tempDir } from './helpers/server.ts';

const FIXTURE = new URL('./fixtures/original-trace.jsonl', import.meta.url);
const BASE_MS = 1764842400000;

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

const iso = (offsetMs: number) => new Date(BASE_MS + offsetMs).toISOString();

async function post(url: string, runId: string, body: unknown) {
  const res = await api(url, `/api/runs/${encodeURIComponent(runId)}/events`, { body });
  assert.ok(res.status === 201 || res.status === 200 || res.status === 207, res.text);
  return res;
}

/** A run with a nested tree: an agent span, a step (task) inside it, tool calls inside that. */
function nestedEvents() {
  return [
    { type: 'run.started', ts: iso(0) },
    {
      type: 'span.started',
      ts: iso(0),
      payload: { spanId: 'agent', name: 'agent', kind: 'agent' },
    },
    {
      type: 'span.started',
      ts: iso(100),
      payload: { spanId: 'step-1', parentSpanId: 'agent', name: 'step 1', kind: 'task' },
    },
    {
      type: 'tool.called',
      ts: iso(200),
      payload: {
        toolName: 'Bash',
        toolCallId: 'c1',
        parentSpanId: 'step-1',
        args: { command: 'ls' },
      },
    },
    {
      type: 'tool.called',
      ts: iso(300),
      payload: {
        toolName: 'Bash',
        toolCallId: 'c2',
        parentSpanId: 'step-1',
        args: { command: 'make' },
      },
    },
    {
      type: 'tool.result',
      ts: iso(700),
      payload: { toolName: 'Bash', toolCallId: 'c1', result: 'a b' },
    },
    {
      type: 'tool.result',
      ts: iso(1300),
      payload: { toolName: 'Bash', toolCallId: 'c2', error: 'make: *** failed' },
    },
    { type: 'span.ended', ts: iso(1500), payload: { spanId: 'step-1' } },
    // The original CLI's pair: no toolCallId, paired by taskId.
    { type: 'tool.called', ts: iso(1600), taskId: 't-9', payload: { toolName: 'ReadFile' } },
    {
      type: 'tool.result',
      ts: iso(1800),
      taskId: 't-9',
      payload: { toolName: 'ReadFile', result: 'ok', duration: 200 },
    },
    {
      type: 'span.started',
      ts: iso(1900),
      payload: { spanId: 'llm-1', parentSpanId: 'agent', name: 'sonnet', kind: 'llm' },
    },
    { type: 'span.ended', ts: iso(2400), payload: { spanId: 'llm-1' } },
    {
      type: 'usage.report',
      ts: iso(2400),
      payload: { spanId: 'llm-1', inputTokens: 100, outputTokens: 20, model: 'sonnet' },
    },
    { type: 'span.ended', ts: iso(3000), payload: { spanId: 'agent' } },
  ];
}

test('/api/runs/:id/spans', async (t) => {
  const dataDir = tempDir();
  let server = await startServer({ dataDir });
  t.after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  await t.test('answers the original dashboard’s three trace requests in its shapes', async () => {
    const recorded = readFileSync(FIXTURE, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Recorded);
    const answers: Record<string, any> = {};
    for (const request of recorded) {
      const res = await api(server.url, request.path, {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
      });
      assert.ok(res.status < 300, `${request.method} ${request.path}: ${res.status} ${res.text}`);
      if (request.method === 'GET')
        answers[request.path.split('/').at(-1)!.split('?')[0]!] = res.body;
    }

    const spans = answers.spans as any[];
    assert.deepEqual(
      spans.map((span) => [span.spanId, span.parentSpanId, span.kind, span.status]),
      [
        ['sp-agent', null, 'agent', 'ok'],
        ['sp-llm-1', 'sp-agent', 'llm', 'ok'],
        ['sp-tool-1', 'sp-agent', 'tool', 'error'],
        ['sp-llm-2', 'sp-agent', 'llm', 'ok'],
      ],
    );
    const tool = spans[2];
    assert.equal(tool.runId, 'run-trace-1');
    assert.equal(tool.startTs, BASE_MS + 2200);
    assert.equal(tool.endTs, BASE_MS + 5200);
    assert.equal(tool.durationMs, 3000);
    assert.deepEqual(tool.attrs, { command: 'npm test', exitCode: 1 });
    assert.equal(spans[0].selfMs, 10000 - 2000 - 3000 - 4000);

    // rep-1 was sent twice and counts once; rep-2 named no cost, so only rep-1's is known.
    assert.deepEqual(answers.usage.totals, {
      inputTokens: 3200,
      outputTokens: 800,
      totalTokens: 4000,
      costUsd: 0.0123,
    });
    assert.deepEqual(answers.usage.bySpan['sp-llm-1'], {
      inputTokens: 1200,
      outputTokens: 300,
      totalTokens: 1500,
      costUsd: 0.0123,
      model: 'claude-sonnet-4',
    });
    assert.equal(answers.usage.bySpan['sp-llm-2'].costUsd, null, 'unknown cost stays unknown');

    const summary = answers['trace-summary'];
    assert.equal(summary.totalDurationMs, 10000);
    assert.equal(summary.criticalPathMs, 10000);
    assert.deepEqual(
      summary.slowestSpans.map((span: any) => [span.spanId, span.durationMs]),
      [
        ['sp-agent', 10000],
        ['sp-llm-2', 4000],
        ['sp-tool-1', 3000],
        ['sp-llm-1', 2000],
      ],
    );
    assert.deepEqual(summary.errorSpans, [
      { spanId: 'sp-tool-1', name: 'bash', kind: 'tool', durationMs: 3000, status: 'error' },
    ]);
    const byKind = Object.fromEntries(summary.hotspotsByKind.map((h: any) => [h.kind, h]));
    assert.deepEqual(byKind.llm, {
      kind: 'llm',
      totalDurationMs: 6000,
      spanCount: 2,
      errorCount: 0,
      totalTokens: 4000,
      costUsd: 0.0123,
    });
    assert.deepEqual(byKind.tool, {
      kind: 'tool',
      totalDurationMs: 3000,
      spanCount: 1,
      errorCount: 1,
    });
    const selfByKind = Object.fromEntries(
      summary.hotspotsByKindSelf.map((h: any) => [h.kind, h.totalSelfMs]),
    );
    assert.deepEqual(selfByKind, { agent: 1000, llm: 6000, tool: 3000 });

    const run = (await api(server.url, '/api/runs/run-trace-1')).body;
    assert.deepEqual(run.usage, { inputTokens: 3200, outputTokens: 800, costUsd: 0.0123 });
  });

  await t.test('nests spans and tool calls, parents before children, with a summary', async () => {
    await post(server.url, 'nested', nestedEvents());
    const res = await api(server.url, '/api/runs/nested/spans');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-agentops-last-seq'), '14');
    const spans = res.body as any[];
    assert.deepEqual(
      spans.map((span) => [span.spanId, span.parentSpanId, span.depth, span.kind, span.status]),
      [
        ['agent', null, 0, 'agent', 'ok'],
        ['step-1', 'agent', 1, 'task', 'ok'],
        ['c1', 'step-1', 2, 'tool', 'ok'],
        ['c2', 'step-1', 2, 'tool', 'error'],
        ['llm-1', 'agent', 1, 'llm', 'ok'],
        ['task:t-9', null, 0, 'tool', 'ok'],
      ],
    );
    const byId = Object.fromEntries(spans.map((span) => [span.spanId, span]));
    assert.equal(byId.c2.error, 'make: *** failed');
    assert.deepEqual(byId.c1.attrs, { toolName: 'Bash', args: { command: 'ls' } });
    assert.equal(byId['task:t-9'].durationMs, 200);
    // step-1 runs 1400 ms; its two calls cover 200..1300 together.
    assert.equal(byId['step-1'].selfMs, 1400 - 1100);
    assert.deepEqual(byId['llm-1'].usage, { inputTokens: 100, outputTokens: 20, model: 'sonnet' });
    for (const span of spans) {
      assert.equal(typeof span.startSeq, 'number');
      assert.equal(typeof span.endSeq, 'number');
      assert.equal(span.start, new Date(span.startTs).toISOString());
    }

    const summary = (await api(server.url, '/api/runs/nested/summary')).body;
    assert.equal(summary.spanCount, 6);
    assert.equal(summary.toolCallCount, 3);
    assert.equal(summary.failedToolCalls, 1);
    assert.deepEqual(summary.tools.Bash, {
      count: 2,
      failed: 1,
      p50Ms: 500,
      maxMs: 1000,
      totalMs: 1500,
    });
    assert.deepEqual(summary.usage, { inputTokens: 100, outputTokens: 20 });
    assert.equal(summary.totalTokens, 120);
    assert.deepEqual(
      summary.topSelfTime.slice(0, 3).map((span: any) => span.spanId),
      ['agent', 'c2', 'c1'],
    );
  });

  await t.test('a span grows while it runs and ends when its end arrives', async () => {
    await post(server.url, 'live', [
      { type: 'span.started', payload: { spanId: 'long', name: 'long', kind: 'task' } },
    ]);
    const first = (await api(server.url, '/api/runs/live/spans')).body as any[];
    assert.equal(first[0].status, 'running');
    assert.equal(first[0].end, undefined);
    await post(server.url, 'live', [
      { type: 'span.ended', payload: { spanId: 'long', status: 'error', error: 'boom' } },
    ]);
    const second = (await api(server.url, '/api/runs/live/spans')).body as any[];
    assert.equal(second[0].status, 'error');
    assert.equal(second[0].error, 'boom');
    assert.equal(typeof second[0].end, 'string');
  });

  await t.test('a span never ended is unfinished once its run is over', async () => {
    await post(server.url, 'over', [
      { type: 'span.started', payload: { spanId: 'dangling', name: 'dangling' } },
      { type: 'run.completed' },
    ]);
    const [span] = (await api(server.url, '/api/runs/over/spans')).body as any[];
    assert.equal(span.status, 'unfinished');
    assert.equal(span.durationMs, undefined);
  });

  await t.test(
    'usage totals also go into the run metadata as costUsd, inputTokens and outputTokens',
    async () => {
      const runId = 'usage-in-metadata';
      await api(server.url, '/api/runs', { body: { id: runId, metadata: { owner: 'ana' } } });
      await post(server.url, runId, [
        {
          type: 'usage.report',
          payload: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 7 },
        },
        { type: 'usage.report', payload: { inputTokens: 50, costUsd: 0.25, reportId: 'r1' } },
        { type: 'usage.report', payload: { inputTokens: 50, costUsd: 0.25, reportId: 'r1' } },
      ]);
      const run = (await api(server.url, `/api/runs/${runId}`)).body;
      assert.deepEqual(run.usage, {
        inputTokens: 150,
        outputTokens: 20,
        cacheReadTokens: 7,
        costUsd: 0.25,
      });
      assert.deepEqual(run.metadata, {
        owner: 'ana',
        inputTokens: 150,
        outputTokens: 20,
        costUsd: 0.25,
      });

      const tokensOnly = 'usage-in-metadata-no-cost';
      await post(server.url, tokensOnly, { type: 'usage.report', payload: { outputTokens: 5 } });
      const noCost = (await api(server.url, `/api/runs/${tokensOnly}`)).body;
      assert.deepEqual(noCost.metadata, { outputTokens: 5 }, 'an unknown cost stays unknown');
    },
  );

  await t.test('keeps every span and usage total across a restart', async () => {
    const before = (await api(server.url, '/api/runs/nested/spans')).body;
    const usageBefore = (await api(server.url, '/api/runs/run-trace-1/usage')).body;
    await server.stop();
    server = await startServer({ dataDir });
    assert.deepEqual((await api(server.url, '/api/runs/nested/spans')).body, before);
    assert.deepEqual((await api(server.url, '/api/runs/run-trace-1/usage')).body, usageBefore);
    const run = (await api(server.url, '/api/runs/run-trace-1')).body;
    assert.equal(run.usage.costUsd, 0.0123);
    // Events after the restart extend the rebuilt tree.
    await post(server.url, 'nested', [
      { type: 'span.started', payload: { spanId: 'after', parentSpanId: 'agent', name: 'after' } },
    ]);
    const after = (await api(server.url, '/api/runs/nested/spans')).body as any[];
    assert.equal(after.length, before.length + 1);
    assert.equal(after.find((span) => span.spanId === 'after').depth, 1);
  });

  await t.test('answers 404 for an unknown run', async () => {
    for (const resource of ['spans', 'summary', 'usage', 'trace-summary']) {
      const res = await api(server.url, `/api/runs/nope/${resource}`);
      assert.equal(res.status, 404);
      assert.match(res.body.error, /run "nope" not found/);
    }
  });
});
