// `agent-ops compare <runA> <runB>`: the comparison, its JSON, and --fail-if as a CI gate.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { runCli } from './helpers/cli.ts';
import { serverFor } from './helpers/server.ts';

const BASE_MS = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(BASE_MS + ms).toISOString();

/** A tool call from `at` lasting `ms`. */
function call(id: string, toolName: string, args: object, at: number, ms: number, error?: string) {
  return [
    { type: 'tool.called', ts: iso(at), payload: { toolName, toolCallId: id, args } },
    {
      type: 'tool.result',
      ts: iso(at + ms),
      payload: { toolName, toolCallId: id, ...(error ? { error } : { result: 'ok' }) },
    },
  ];
}

test('agent-ops compare', async (t) => {
  const server = await serverFor(t);
  const base = ['--server', server.url];
  const post = async (runId: string, events: unknown[]) => {
    const res = await api(server.url, `/api/runs/${runId}/events`, { body: events });
    assert.equal(res.status, 201, res.text);
  };

  // A: quick, two calls. B: slower, costlier, one more call and a failure.
  await post('base', [
    ...call('a1', 'Bash', { command: 'npm ci' }, 0, 400),
    ...call('a2', 'Bash', { command: 'npm test' }, 500, 1000),
    { type: 'usage.report', payload: { inputTokens: 1000, outputTokens: 200, costUsd: 0.1 } },
    { type: 'run.completed' },
  ]);
  await post('candidate', [
    ...call('b1', 'Bash', { command: 'npm ci' }, 0, 500),
    ...call('b2', 'Read', { file_path: 'src/a.ts' }, 600, 100),
    ...call('b3', 'Bash', { command: 'npm test' }, 800, 2000, 'exit 1'),
    { type: 'usage.report', payload: { inputTokens: 1500, outputTokens: 300, costUsd: 0.15 } },
  ]);
  // The candidate's wall time is clearly longer than the baseline's.
  await sleep(300);
  await post('candidate', [{ type: 'run.completed' }]);
  await post('no-cost', [
    ...call('c1', 'Bash', { command: 'npm ci' }, 0, 400),
    { type: 'run.completed' },
  ]);

  await t.test('--json: metrics, tools per name and the aligned call sequence', async () => {
    const result = await runCli(['compare', 'base', 'candidate', '--json', ...base]);
    assert.equal(result.code, 0, result.stderr);
    const comparison = JSON.parse(result.stdout);
    assert.deepEqual(comparison.metrics.cost, {
      a: 0.1,
      b: 0.15,
      delta: 0.05,
      deltaPct: 50,
    });
    assert.deepEqual(comparison.metrics.tokens.a, 1200);
    assert.deepEqual(comparison.metrics.tokens.b, 1800);
    assert.deepEqual(comparison.metrics.toolCalls, { a: 2, b: 3, delta: 1, deltaPct: 50 });
    assert.deepEqual(comparison.metrics.failedTools.b, 1);
    assert.ok(comparison.metrics.duration.b > comparison.metrics.duration.a);
    assert.deepEqual(comparison.tools.Bash, {
      a: { count: 2, failed: 0, p50Ms: 400, maxMs: 1000, totalMs: 1400 },
      b: { count: 2, failed: 1, p50Ms: 500, maxMs: 2000, totalMs: 2500 },
    });
    assert.deepEqual(comparison.tools.Read.a, null);
    assert.deepEqual(
      comparison.sequence.map((row: any) => [row.change, row.a?.args ?? null, row.b?.args ?? null]),
      [
        ['same', 'npm ci', 'npm ci'],
        ['added', null, 'src/a.ts'],
        ['changed', 'npm test', 'npm test'],
      ],
    );
    assert.deepEqual(comparison.rules, []);
  });

  await t.test('prints a readable side-by-side comparison', async () => {
    const result = await runCli(['compare', 'base', 'candidate', '--no-color', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /cost\s+\$0\.1000\s+\$0\.1500\s+\+\$0\.0500 \(\+50\.0%\)/);
    assert.match(result.stdout, /tool calls\s+2\s+3\s+\+1 \(\+50\.0%\)/);
    assert.match(result.stdout, /Bash\s+2 \(0 failed\)\s+2 \(1 failed\)/);
    assert.match(result.stdout, /\+\s+Read src\/a\.ts/);
    assert.match(result.stdout, /~\s+Bash npm test\s+Bash npm test ✖/);
  });

  const gates: Array<{ rules: string[]; runs: [string, string]; code: number; lines: RegExp[] }> = [
    {
      rules: ['duration>+20%', 'cost>+10%', 'failedTools>0'],
      runs: ['base', 'candidate'],
      code: 1,
      lines: [/✖ duration>\+20%: broken/, /✖ cost>\+10%: broken/, /✖ failedTools>0: broken/],
    },
    {
      rules: ['cost>+60%', 'toolCalls>=+2', 'tokens>+1000'],
      runs: ['base', 'candidate'],
      code: 0,
      lines: [/✔ cost>\+60%/, /✔ toolCalls>=\+2/, /✔ tokens>\+1000/],
    },
    {
      rules: ['cost<-10%', 'failedTools>0'],
      runs: ['candidate', 'base'],
      code: 1,
      lines: [/✖ cost<-10%: broken/, /✔ failedTools>0/],
    },
    {
      rules: ['cost>+10%'],
      runs: ['base', 'no-cost'],
      code: 0,
      lines: [/\? cost>\+10%: unknown in one of the runs/],
    },
  ];
  for (const { rules, runs, code, lines } of gates) {
    await t.test(`--fail-if ${rules.join(' ')} on ${runs.join(' → ')} exits ${code}`, async () => {
      const args = rules.flatMap((rule) => ['--fail-if', rule]);
      const result = await runCli(['compare', ...runs, ...args, '--no-color', ...base]);
      assert.equal(result.code, code, result.stderr);
      for (const line of lines) assert.match(result.stdout, line);
    });
  }

  await t.test('--json lists each rule’s outcome', async () => {
    const result = await runCli([
      'compare',
      'base',
      'candidate',
      '--json',
      '--fail-if',
      'failedTools>0',
      ...base,
    ]);
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout).rules, [
      { rule: 'failedTools>0', broken: true, a: 0, b: 1 },
    ]);
  });

  const usage: Array<[string[], RegExp]> = [
    [['compare', 'base'], /missing <runB>/],
    [
      ['compare', 'base', 'candidate', '--fail-if', 'slowness>1'],
      /--fail-if names no metric "slowness"; one of duration, cost/,
    ],
    [
      ['compare', 'base', 'candidate', '--fail-if', 'duration is worse'],
      /--fail-if must look like "duration>\+20%", "cost>\+10%" or "failedTools>0"; got "duration is worse"/,
    ],
    [
      ['compare', 'base', 'candidate', '--fail-if', 'cost>+5s'],
      /only duration takes a unit \(ms, s, m, h\)/,
    ],
  ];
  for (const [args, message] of usage) {
    await t.test(`usage error: ${args.slice(1).join(' ')}`, async () => {
      const result = await runCli([...args, ...base]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /agent-ops compare --help/);
    });
  }

  await t.test('an unknown run exits 1 naming it, with no retry noise after it', async () => {
    const result = await runCli(['compare', 'base', 'nope', ...base]);
    assert.equal(result.code, 1);
    // The requests still in flight when it gives up are dropped, not retried out loud.
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `agent-ops: no run "nope" on ${server.url}; \`agent-ops ls\` lists the runs there`,
    ]);
  });
});
