// `agent-ops tail`: follows runs live over SSE, resumes after a restart, ends with the run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliFor, runCli } from './helpers/cli.ts';
import { serverFor, startServer } from './helpers/server.ts';

const lines = (text: string): string[] => text.split('\n').filter(Boolean);

test('agent-ops tail', async (t) => {
  const server = await serverFor(t);
  const env = { AGENTOPS_SERVER: server.url };
  const emit = async (runId: string, type: string, payload: object = {}): Promise<void> => {
    const result = await runCli(['emit', runId, type, '--payload', JSON.stringify(payload)], env);
    assert.equal(result.code, 0, result.stderr);
  };

  await t.test(
    'follows a run live, one line per event, and exits 0 when it completes',
    async (t) => {
      await runCli(['start', '--id', 'tail-live'], env);
      const tail = cliFor(t, ['tail', 'tail-live'], env);
      await tail.waitFor((stdout) => stdout.includes('run.started'), 'the history');
      await emit('tail-live', 'task.progress', { step: 1 });
      await tail.waitFor((stdout) => stdout.includes('{"step":1}'), 'the live event');
      await runCli(['finish', 'tail-live'], env);
      const result = await tail.exited;
      assert.equal(result.code, 0, result.stderr);
      const printed = lines(result.stdout);
      assert.equal(printed.length, 3);
      assert.match(printed[0]!, /^ +#1 +\d\d:\d\d:\d\d\.\d{3} +info +run\.started +Run started$/);
      assert.match(printed[1]!, /^ +#2 .* task\.progress +\{"step":1\}$/);
      assert.match(printed[2]!, /^ +#3 .* run\.completed +Run completed$/);
      assert.match(result.stderr, /tail-live completed/);
    },
  );

  await t.test(
    "each event is the dashboard's one-line summary; control characters never reach the terminal",
    async () => {
      await runCli(['start', '--id', 'tail-summaries'], env);
      const cases: ReadonlyArray<[string, object, string]> = [
        [
          'tool.called',
          { toolName: 'grep', args: { pattern: 'fetchUser' } },
          'grep({"pattern":"fetchUser"})',
        ],
        [
          'tool.result',
          { toolName: 'grep', duration: 12, result: '3 matches' },
          'grep in 12 ms → "3 matches"',
        ],
        ['tool.result', { toolName: 'rm', error: 'denied' }, 'rm failed: denied'],
        ['metric', { name: 'coverage', value: 87.5, unit: '%' }, 'coverage = 87.5 %'],
        ['agent.stdout', { line: 1, text: 'two\nlines \u001b[31mred' }, 'two⏎lines \\x1b[31mred'],
        ['agent.exit', { code: 1, signal: null }, 'exit code 1'],
        [
          'usage.report',
          { inputTokens: 1200, outputTokens: 300, costUsd: 0.0123 },
          '1200 in · 300 out · $0.0123',
        ],
        ['log', { message: 'retrying download' }, 'retrying download'],
      ];
      for (const [type, payload] of cases) await emit('tail-summaries', type, payload);
      await runCli(['finish', 'tail-summaries'], env);
      const result = await runCli(['tail', 'tail-summaries'], env);
      assert.equal(result.code, 0, result.stderr);
      const printed = lines(result.stdout).slice(1, -1);
      assert.equal(printed.length, cases.length);
      cases.forEach(([type, , summary], i) => {
        const [, shownType, shown] = /^ +#\d+ +\S+ +\w+ +(\S+) +(.*)$/.exec(printed[i]!) ?? [];
        assert.equal(shownType, type);
        assert.equal(shown, summary);
      });
    },
  );

  await t.test('a reader that goes away (| head) ends tail quietly', async () => {
    await runCli(['start', '--id', 'tail-reader-gone'], env);
    const tail = cliFor(t, ['tail', 'tail-reader-gone'], env);
    await tail.waitFor((stdout) => stdout.includes('run.started'), 'the history');
    // What `head -1` does once it has its line: close the pipe.
    tail.proc.stdout!.destroy();
    await emit('tail-reader-gone', 'log', { message: 'nobody reads this' });
    const result = await tail.exited;
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
  });

  await t.test('--json prints NDJSON, and exits with the status of a run that failed', async () => {
    const run = await runCli(
      ['--steps', '4', '--interval', '0', '--failAt', '3', '--id', 'tail-failed'],
      env,
    );
    assert.equal(run.code, 1);
    const result = await runCli(['tail', 'tail-failed', '--json'], env);
    assert.equal(result.code, 1, result.stderr);
    const events = lines(result.stdout).map((line) => JSON.parse(line));
    assert.deepEqual(
      events.map((event) => event.seq),
      events.map((_, i) => i + 1),
    );
    assert.equal(events.at(-1).type, 'run.error');
    assert.match(result.stderr, /tail-failed error: Simulated failure at step 3/);
  });

  await t.test('--after skips what was already seen', async () => {
    const result = await runCli(['tail', 'tail-failed', '--json', '--after', '3'], env);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(JSON.parse(lines(result.stdout)[0]!).seq, 4);
  });

  await t.test('an unknown run exits 1 naming it', async () => {
    const result = await runCli(['tail', 'no-such-run'], env);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^agent-ops: no run "no-such-run" on http:\/\/\S+; `agent-ops ls` lists the runs there\n$/,
    );
  });

  await t.test('resumes across a server restart with no gap and no duplicate', async (t) => {
    let current = await startServer();
    const { port, dataDir } = current;
    t.after(() => current.stop());
    const here = { AGENTOPS_SERVER: current.url };
    await runCli(['start', '--id', 'tail-restart'], here);
    for (const step of [1, 2, 3])
      await runCli(
        ['emit', 'tail-restart', 'task.progress', '--payload', `{"step":${step}}`],
        here,
      );
    const tail = cliFor(t, ['tail', 'tail-restart', '--json'], here);
    await tail.waitFor((stdout) => lines(stdout).length === 4, 'the first four events');

    await current.kill();
    await tail.waitFor(
      (_, stderr) => stderr.includes('stream lost'),
      'the tail to lose its stream',
    );
    current = await startServer({ port, dataDir });
    for (const step of [4, 5])
      await runCli(
        ['emit', 'tail-restart', 'task.progress', '--payload', `{"step":${step}}`],
        here,
      );
    await runCli(['finish', 'tail-restart'], here);

    const result = await tail.exited;
    assert.equal(result.code, 0, result.stderr);
    const events = lines(result.stdout).map((line) => JSON.parse(line));
    assert.deepEqual(
      events.map((event) => event.seq),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(
      events.slice(1, 6).map((event) => event.payload.step),
      [1, 2, 3, 4, 5],
    );
    assert.match(result.stderr, /resuming after #4/);
  });

  await t.test('--all follows every run until interrupted (exit 130)', async (t) => {
    const tail = cliFor(t, ['tail', '--all', '--json'], env);
    // The stream is live once a change made now shows up; keep making one until it does.
    let n = 0;
    await tail.waitFor((stdout) => {
      if (!stdout.includes('"tail-all-')) void runCli(['start', '--id', `tail-all-${n++}`], env);
      return stdout.includes('"tail-all-');
    }, 'a run change');
    tail.proc.kill('SIGINT');
    const result = await tail.exited;
    assert.equal(result.code, 130, result.stderr);
    const changes = lines(result.stdout).map((line) => JSON.parse(line));
    assert.ok(changes.every((change) => change.kind === 'run' || change.kind === 'deleted'));
    assert.ok(changes.some((change) => change.run?.id.startsWith('tail-all-')));
  });
});
