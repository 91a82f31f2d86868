// The default command: the original runner's flags and event sequence, plus --seed, --json,
// --quiet, signals, keys and GitHub step summaries.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliFor, runCli, storedEvents, storedRun } from './helpers/cli.ts';
import { serverFor, startServer, tempDir } from './helpers/server.ts';

interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
}

function fixture(name: string): RecordedRequest[] {
  const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

const sorted = (object: object): string[] => Object.keys(object).sort();

/** What makes two runs with the same seed "the same sequence": everything but ids and clocks. */
function comparable(events: any[]): unknown[] {
  return events.map(({ type, level, agentId, taskId, payload }) => {
    const { duration, ...rest } = payload;
    // Durations are measured, not drawn: they differ from run to run.
    const timed = type === 'run.completed' || type === 'tool.result';
    return { type, level, agentId, taskId, payload: timed ? rest : payload };
  });
}

test('agent-ops (the runner)', async (t) => {
  const server = await serverFor(t);
  const base = ['--server', server.url, '--interval', '0'];

  await t.test(
    'sends the original sequence: run.started, metadata PATCH, steps, run.completed',
    async () => {
      const original = fixture('success.jsonl');
      const runId = 'runner-sequence';
      const result = await runCli([
        ...base,
        '--steps',
        '30',
        '--seed',
        '3',
        '--title',
        'Fixture success',
        '--id',
        runId,
      ]);
      assert.equal(result.code, 0, result.stderr);

      const run = await storedRun(server.url, runId);
      assert.equal(run.title, 'Fixture success');
      assert.equal(run.status, 'completed');
      const originalPatch = original.find((request) => request.method === 'PATCH')!.body.metadata;
      for (const [key, value] of Object.entries(originalPatch)) {
        assert.deepEqual(run.metadata[key], key === 'totalSteps' ? 30 : value, `metadata.${key}`);
      }

      const events = await storedEvents(server.url, runId);
      assert.equal(run.eventCount, events.length);
      const [started, ...rest] = events;
      const completed = rest.pop();
      const originalStarted = original[1]!.body;
      assert.equal(started.type, 'run.started');
      assert.equal(started.payload.message, originalStarted.payload.message);
      assert.deepEqual(
        { steps: started.payload.config.steps, interval: started.payload.config.interval },
        { steps: 30, interval: 0 },
      );
      assert.equal(completed.type, 'run.completed');
      assert.deepEqual(sorted(completed.payload), sorted(original.at(-1)!.body.payload));

      const steps = rest.filter(
        (event) => event.type === 'task.progress' && event.payload.total !== undefined,
      );
      assert.deepEqual(
        steps.map((event) => event.payload),
        Array.from({ length: 30 }, (_, i) => ({
          step: i + 1,
          total: 30,
          message: `Processing step ${i + 1}`,
          progress: Math.round(((i + 1) / 30) * 100),
        })),
      );
      assert.ok(steps.every((event) => event.level === 'info'));

      // Every kind the original mixes in appears, with at least the original's fields.
      const originalTask = original.find((request) => request.body.agentId !== undefined)!.body;
      const tasks = rest.filter((event) => event.agentId !== undefined);
      assert.ok(tasks.length > 0, 'agent task events');
      for (const event of tasks) {
        assert.equal(event.agentId, originalTask.agentId);
        assert.equal(typeof event.taskId, 'string');
        assert.equal(event.type, 'task.progress');
      }
      const byTask = new Map<string, any[]>();
      for (const event of tasks)
        byTask.set(event.taskId, [...(byTask.get(event.taskId) ?? []), event]);
      for (const pair of byTask.values()) {
        assert.deepEqual(
          pair.map((event: any) => event.payload.status),
          ['running', 'done'],
        );
        assert.deepEqual(sorted(pair[1].payload), sorted(original[5]!.body.payload));
      }
      const originalCalled = original.find((request) => request.body.type === 'tool.called')!.body;
      const originalResult = original.find((request) => request.body.type === 'tool.result')!.body;
      const calls = rest.filter((event) => event.type === 'tool.called');
      assert.ok(calls.length > 0, 'tool calls');
      for (const call of calls)
        assert.deepEqual(
          sorted(call.payload),
          [...sorted(originalCalled.payload), 'toolCallId', 'parentSpanId'].sort(),
        );
      for (const result of rest.filter((event) => event.type === 'tool.result')) {
        assert.deepEqual(
          sorted(result.payload),
          [...sorted(originalResult.payload), 'toolCallId', 'parentSpanId'].sort(),
        );
      }
      const metrics = rest.filter((event) => event.type === 'metric');
      assert.ok(metrics.length > 0, 'metrics');
      for (const metric of metrics) {
        assert.equal(typeof metric.payload.name, 'string');
        assert.equal(typeof metric.payload.value, 'number');
        assert.equal(typeof metric.payload.unit, 'string');
      }
      // Nothing else: every event is one of the kinds above, or the trace's spans and usage.
      const trace = rest.filter((event) =>
        /^(span\.(started|ended)|usage\.report)$/.test(event.type),
      );
      assert.ok(trace.length >= 2 + 30 * 2, 'an agent span and a span per step');
      assert.equal(
        steps.length + tasks.length + calls.length * 2 + metrics.length + trace.length,
        rest.length,
      );
    },
  );

  await t.test('pairs every tool call with its result by toolCallId, with a duration', async () => {
    const runId = 'runner-tools';
    const result = await runCli([...base, '--steps', '40', '--seed', '11', '--id', runId]);
    assert.equal(result.code, 0, result.stderr);
    const events = await storedEvents(server.url, runId);
    const calls = events.filter((event) => event.type === 'tool.called');
    const results = events.filter((event) => event.type === 'tool.result');
    assert.ok(calls.length > 1);
    assert.equal(
      new Set(calls.map((event) => event.payload.toolCallId)).size,
      calls.length,
      'ids are unique',
    );
    assert.equal(results.length, calls.length);
    for (const call of calls) {
      const matches = results.filter(
        (event) => event.payload.toolCallId === call.payload.toolCallId,
      );
      assert.equal(matches.length, 1, `one result for ${call.payload.toolCallId}`);
      assert.ok(matches[0].seq > call.seq, 'the result follows its call');
      assert.equal(matches[0].payload.toolName, call.payload.toolName);
      assert.equal(typeof matches[0].payload.duration, 'number');
    }
    assert.equal((await storedRun(server.url, runId)).toolCallCount, calls.length);
  });

  await t.test(
    'draws a nested trace: steps in the agent span, calls in the steps, all inside the run',
    async () => {
      const runId = 'runner-trace';
      const result = await runCli([
        '--server',
        server.url,
        '--interval',
        '40',
        '--steps',
        '12',
        '--seed',
        '5',
        '--id',
        runId,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const run = await storedRun(server.url, runId);
      const spans = (await (await fetch(`${server.url}/api/runs/${runId}/spans`)).json()) as any[];
      assert.equal(spans[0].spanId, 'agent');
      assert.equal(spans[0].kind, 'agent');
      const steps = spans.filter((span) => span.kind === 'task');
      assert.equal(steps.length, 12);
      assert.ok(steps.every((span) => span.parentSpanId === 'agent' && span.depth === 1));
      const inner = spans.filter((span) => span.kind === 'tool' || span.kind === 'llm');
      assert.ok(
        inner.some((span) => span.kind === 'tool'),
        'tool calls',
      );
      assert.ok(
        inner.some((span) => span.kind === 'llm'),
        'llm calls',
      );
      const byId = new Map(spans.map((span) => [span.spanId, span]));
      const runStart = Date.parse(run.startedAt);
      const runEnd = Date.parse(run.endedAt);
      for (const span of spans) {
        assert.equal(span.status, 'ok', span.spanId);
        assert.ok(
          span.startTs >= runStart - 5 && span.endTs <= runEnd + 5,
          `${span.spanId} in run`,
        );
      }
      for (const span of inner) {
        const step = byId.get(span.parentSpanId);
        assert.equal(step.kind, 'task');
        assert.ok(span.startTs >= step.startTs && span.endTs <= step.endTs, span.spanId);
      }
      for (const span of inner.filter((span) => span.kind === 'llm')) {
        assert.ok(span.usage.inputTokens > 0 && span.usage.outputTokens > 0);
        assert.ok(span.usage.costUsd > 0);
      }
      assert.ok(run.usage.inputTokens > 0);
    },
  );

  await t.test('--failAt ends with run.error and the PATCH, the run in error, exit 1', async () => {
    const original = fixture('failure.jsonl');
    const runId = 'runner-fail';
    const result = await runCli([...base, '--steps', '6', '--fail-at', '4', '--id', runId]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /Simulated failure at step 4/);

    const run = await storedRun(server.url, runId);
    assert.equal(run.status, 'error');
    assert.equal(run.errorMessage, 'Simulated failure at step 4');
    const events = await storedEvents(server.url, runId);
    const last = events.at(-1);
    assert.equal(last.type, 'run.error');
    assert.equal(last.level, 'error');
    assert.deepEqual(sorted(last.payload), sorted(original.at(-2)!.body.payload));
    assert.equal(last.payload.message, 'Simulated failure at step 4');
    assert.match(last.payload.stack, /^Error: Simulated failure at step 4\n/);
    const steps = events
      .filter((event) => event.payload.total !== undefined)
      .map((event) => event.payload.step);
    assert.deepEqual(steps, [1, 2, 3], 'the failing step reports no progress, as in the original');
  });

  await t.test('the same --seed sends the same sequence; another seed does not', async () => {
    const runs = ['seed-a', 'seed-b', 'seed-c'];
    const seeds = ['42', '42', '43'];
    for (const [i, runId] of runs.entries()) {
      const result = await runCli([...base, '--steps', '25', '--seed', seeds[i]!, '--id', runId]);
      assert.equal(result.code, 0, result.stderr);
    }
    const [a, b, c] = await Promise.all(runs.map((runId) => storedEvents(server.url, runId)));
    assert.deepEqual(comparable(a!), comparable(b!));
    assert.notDeepEqual(comparable(a!), comparable(c!));
    assert.notEqual(a![0].id, b![0].id, 'idempotency ids stay unique per run');
  });

  await t.test('--json prints one document that matches what the server stored', async () => {
    const result = await runCli([...base, '--steps', '5', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.status, 'completed');
    assert.equal(summary.steps, 5);
    const run = await storedRun(server.url, summary.runId);
    assert.equal(run.eventCount, summary.events);
    assert.equal(summary.url, `${server.url}/#/runs/${summary.runId}`);
    assert.match(result.stderr, /completed/, 'human text goes to stderr');

    const failed = await runCli([...base, '--steps', '5', '--failAt', '2', '--json']);
    assert.equal(failed.code, 1);
    assert.equal(JSON.parse(failed.stdout).errorMessage, 'Simulated failure at step 2');
  });

  await t.test(
    'prints the run id, each step, the final state and the link; --quiet only the id',
    async () => {
      const result = await runCli([...base, '--steps', '3', '--id', 'runner-human']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Run runner-human/);
      assert.match(result.stdout, /step 1\/3[\s\S]*step 2\/3[\s\S]*step 3\/3/);
      assert.match(result.stdout, /completed/);
      assert.ok(result.stdout.includes(`${server.url}/#/runs/runner-human`));
      assert.doesNotMatch(result.stdout, /\u001b\[/, 'no colour when not a terminal');

      const quiet = await runCli([...base, '--steps', '3', '--quiet']);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.match(quiet.stdout, /^run-\d+-[A-Za-z0-9]+\n$/);
      assert.equal((await storedRun(server.url, quiet.stdout.trim())).status, 'completed');
    },
  );

  await t.test('reads AGENTOPS_SERVER and the kebab-case flags', async () => {
    const result = await runCli(
      ['--steps', '2', '--interval', '0', '--fail-at', '2', '--id', 'runner-env'],
      {
        AGENTOPS_SERVER: server.url,
      },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.equal((await storedRun(server.url, 'runner-env')).status, 'error');
  });

  await t.test('appends a markdown summary to GITHUB_STEP_SUMMARY', async () => {
    const file = join(tempDir(), 'summary.md');
    const result = await runCli([...base, '--steps', '2', '--failAt', '2', '--id', 'runner-gh'], {
      GITHUB_STEP_SUMMARY: file,
    });
    assert.equal(result.code, 1);
    const markdown = readFileSync(file, 'utf8');
    assert.match(markdown, /runner-gh/);
    assert.match(markdown, /\| Status \| .*error \|/);
    assert.match(markdown, /Simulated failure at step 2/);
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    await t.test(`on ${signal} posts run.stopped with the reason and exits ${code}`, async (t) => {
      const runId = `runner-${signal}`;
      const cli = cliFor(t, [
        '--server',
        server.url,
        '--steps',
        '1000',
        '--interval',
        '20',
        '--id',
        runId,
      ]);
      await cli.waitFor((stdout) => stdout.includes('step 2/1000'), 'step 2');
      cli.proc.kill(signal);
      const result = await cli.exited;
      assert.equal(result.code, code, result.stderr);
      const events = await storedEvents(server.url, runId);
      assert.equal(events.at(-1).type, 'run.stopped');
      assert.equal(events.at(-1).payload.reason, signal);
      assert.equal((await storedRun(server.url, runId)).status, 'stopped');
    });
  }

  await t.test('with a key on the server', async (t) => {
    const server = await serverFor(t, { env: { AGENTOPS_API_KEY: 'k123' } });
    const base = ['--server', server.url, '--steps', '3', '--interval', '0'];

    await t.test('sends --apiKey (or AGENTOPS_API_KEY) as x-api-key', async () => {
      const flag = await runCli([...base, '--apiKey', 'k123', '--id', 'key-flag']);
      assert.equal(flag.code, 0, flag.stderr);
      const env = await runCli([...base, '--id', 'key-env'], { AGENTOPS_API_KEY: 'k123' });
      assert.equal(env.code, 0, env.stderr);
      const headers = { 'x-api-key': 'k123' };
      assert.equal((await storedRun(server.url, 'key-env', headers)).status, 'completed');
    });

    await t.test('a wrong or missing key exits 3 at once, naming the fix', async () => {
      for (const key of [['--api-key', 'wrong'], []]) {
        const result = await runCli([...base, ...key]);
        assert.equal(result.code, 3, result.stderr);
        assert.match(
          result.stderr,
          /^agent-ops: the server at http:\/\/\S+ rejected the API key \(401/,
        );
        assert.match(result.stderr, /--api-key or AGENTOPS_API_KEY/);
      }
    });
  });

  await t.test(
    'an unreachable server exits 3 after retrying, naming the URL and the fix',
    async () => {
      // A port that was just free: nothing listens there.
      const server = await startServer();
      const { url } = server;
      await server.stop();
      const result = await runCli(['--server', url, '--steps', '2', '--interval', '0']);
      assert.equal(result.code, 3, result.stderr);
      assert.ok(
        result.stderr.includes(
          `cannot reach the server at ${url} (ECONNREFUSED) after retrying for 5 s`,
        ),
        result.stderr,
      );
      assert.match(result.stderr, /agent-ops serve/);
    },
  );
});
