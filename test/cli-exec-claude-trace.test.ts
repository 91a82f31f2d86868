// `agent-ops exec --format claude` as a trace: a recorded Claude Code transcript with a subagent,
// replayed through the real CLI into a real server, read back as spans.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { runCli, storedRun } from './helpers/cli.ts';
import { serverFor } from './helpers/server.ts';

const CHILD = fileURLToPath(new URL('./fixtures/exec-child.mjs', import.meta.url));
const TRANSCRIPT = fileURLToPath(new URL('./fixtures/claude-subagent.jsonl', import.meta.url));
/** Between replayed lines, so every span has a measurable length. */
const LINE_PAUSE_MS = 15;

test('exec --format claude: the trace', async (t) => {
  const server = await serverFor(t);
  const runId = 'claude-subagent';
  const result = await runCli([
    'exec',
    '--server',
    server.url,
    '--id',
    runId,
    '--format',
    'claude',
    '--',
    process.execPath,
    CHILD,
    'replay',
    TRANSCRIPT,
    String(LINE_PAUSE_MS),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const spans = (await api(server.url, `/api/runs/${runId}/spans`)).body as any[];
  const byId = new Map(spans.map((span) => [span.spanId, span]));

  await t.test('each assistant message is one llm span with its model and tokens', () => {
    const llm = spans.filter((span) => span.kind === 'llm');
    assert.deepEqual(
      llm.map((span) => span.spanId),
      ['llm:msg_A', 'llm:msg_S1', 'llm:msg_S2', 'llm:msg_S3', 'llm:msg_B', 'llm:msg_C'],
      'msg_B, printed as two lines, is one span',
    );
    assert.equal(byId.get('llm:msg_A').name, 'claude-sonnet-4-5-20250929');
    assert.equal(byId.get('llm:msg_S1').attrs.model, 'claude-haiku-4-5-20251001');
    assert.deepEqual(byId.get('llm:msg_A').usage, {
      inputTokens: 10,
      outputTokens: 50,
      cacheReadTokens: 1000,
      model: 'claude-sonnet-4-5-20250929',
    });
    for (const span of llm) {
      assert.equal(span.status, 'ok');
      assert.ok(span.durationMs >= 0);
      assert.equal(span.usage.costUsd, undefined, 'no cost is invented per turn');
    }
  });

  await t.test('the subagent’s turns and tool calls nest under its Task call', () => {
    const task = byId.get('toolu_Task1');
    assert.equal(task.kind, 'tool');
    assert.equal(task.name, 'Task');
    assert.equal(task.parentSpanId, null);
    const inside = spans.filter((span) => span.parentSpanId === 'toolu_Task1');
    assert.deepEqual(
      inside.map((span) => span.spanId),
      ['llm:msg_S1', 'toolu_S_Grep', 'llm:msg_S2', 'toolu_S_Read', 'llm:msg_S3'],
    );
    for (const span of inside) {
      assert.equal(span.depth, 1);
      assert.ok(span.startTs >= task.startTs, `${span.spanId} starts inside the Task call`);
      assert.ok(span.endTs <= task.endTs, `${span.spanId} ends inside the Task call`);
    }
    // Listed parents first: the Task call comes before everything it holds.
    assert.ok(spans.indexOf(task) < spans.indexOf(byId.get('toolu_S_Grep')));
    assert.ok(task.selfMs < task.durationMs);
  });

  await t.test('tool calls are spans with their arguments; the failed one is marked', () => {
    const bash = spans.filter((span) => span.name === 'Bash');
    assert.deepEqual(
      bash.map((span) => [span.attrs.args.command, span.status]),
      [
        ['npm test -- dates', 'ok'],
        ['npm run lint', 'error'],
      ],
    );
    assert.match(bash[1].error, /unexpected any/);
  });

  await t.test('the run’s usage totals are the result line’s, with its cost', async () => {
    const run = await storedRun(server.url, runId);
    assert.deepEqual(run.usage, {
      inputTokens: 60,
      outputTokens: 400,
      cacheReadTokens: 6130,
      costUsd: 0.0871,
    });
    const summary = (await api(server.url, `/api/runs/${runId}/summary`)).body;
    assert.equal(summary.toolCallCount, 5);
    assert.equal(summary.failedToolCalls, 1);
    assert.equal(summary.totalTokens, 460);
    assert.deepEqual(summary.tools.Bash.count, 2);
  });
});
