// `agent-ops exec`: a real command wrapped as a run. Its output streams as events (or as the
// events it describes), control reaches its process group, and exec ends the way the command did.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { cliFor, runCli, storedEvents, storedRun } from './helpers/cli.ts';
import { waitFor } from './helpers/wait.ts';
import { serverFor } from './helpers/server.ts';

const CHILD = fileURLToPath(new URL('./fixtures/exec-child.mjs', import.meta.url));
const CLAUDE_STREAM = fileURLToPath(new URL('./fixtures/claude-stream.jsonl', import.meta.url));

/** State ("S", "R", "T" stopped, "Z" zombie) and process group from /proc/<pid>/stat. */
function procStat(pid: number): { state: string; pgid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, pgid: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/**
 * The processes of a group that still run. Zombies are left out: where init does not reap
 * orphans (as in some containers) they linger, but they run nothing.
 */
function liveGroupMembers(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ESRCH');
    return [];
  }
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return stat !== undefined && stat.pgid === pgid && stat.state !== 'Z';
    });
}

const outputEvents = (events: any[], stream = 'stdout') =>
  events.filter((event) => event.type === `agent.${stream}`);

test('agent-ops exec', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  let counter = 0;
  const nextId = () => `exec-${++counter}`;
  /** exec of the fixture child with these actions. */
  const execArgs = (runId: string, options: string[], actions: string[]) => [
    'exec',
    '--server',
    url,
    '--id',
    runId,
    ...options,
    '--',
    process.execPath,
    CHILD,
    ...actions,
  ];
  const waitForStatus = (runId: string, status: string) =>
    waitFor(`run ${runId} to be ${status}`, async () =>
      (await storedRun(url, runId)).status === status ? true : undefined,
    );
  const pidIn = (text: string, word = 'pid') =>
    Number(new RegExp(`^${word} (\\d+)$`, 'm').exec(text)?.[1]);

  await t.test(
    'text, JSON events (--format jsonl) and exit 3 become those events, status error and exit 3',
    async () => {
      const runId = nextId();
      const result = await runCli(
        execArgs(
          runId,
          ['--format', 'jsonl'],
          [
            'out',
            'hello from the child',
            'out',
            '{"type":"task.progress","payload":{"step":1,"total":2},"agentId":"fixture"}',
            'out',
            '{"type":"metric","level":"warn","payload":{"name":"loss","value":0.25}}',
            'out',
            '{"type":"bad type with spaces"}',
            'out',
            '{"no":"type"}',
            'err',
            'something went wrong',
            'exit',
            '3',
          ],
        ),
        { PYTHONUNBUFFERED: undefined },
      );
      assert.equal(result.code, 3, result.stderr);
      // The output is passed through unchanged.
      assert.match(result.stdout, /^hello from the child\n\{"type":"task.progress"/);
      assert.match(result.stderr, /something went wrong/);

      const events = await storedEvents(url, runId);
      assert.deepEqual(
        events.map((event) => event.type),
        [
          'run.started',
          'agent.stdout',
          'task.progress',
          'metric',
          'agent.stdout',
          'agent.stdout',
          'agent.stderr',
          'agent.exit',
          'run.error',
        ],
      );
      const [started, hello, progress, metric, bad, noType, stderr, exit, error] = events;
      assert.deepEqual(started.payload.command.slice(0, 4), [
        process.execPath,
        CHILD,
        'out',
        'hello from the child',
      ]);
      assert.equal(typeof started.payload.pid, 'number');
      assert.deepEqual(hello.payload, { line: 1, text: 'hello from the child' });
      assert.deepEqual(progress.payload, { step: 1, total: 2 });
      assert.equal(progress.agentId, 'fixture');
      assert.equal(metric.level, 'warn');
      assert.deepEqual(bad.payload, { line: 4, text: '{"type":"bad type with spaces"}' });
      assert.deepEqual(noType.payload, { line: 5, text: '{"no":"type"}' });
      assert.deepEqual(stderr.payload, { line: 1, text: 'something went wrong' });
      assert.deepEqual(exit.payload.code, 3);
      assert.equal(exit.payload.signal, null);
      assert.match(error.payload.message, /exited with code 3$/);
      assert.equal(error.payload.stderrTail, 'something went wrong');

      const run = await storedRun(url, runId);
      assert.equal(run.status, 'error');
      assert.match(run.errorMessage, /exited with code 3/);
      // The title defaults to the command line, quoted as a shell would need it.
      assert.ok(
        run.title.startsWith(`${process.execPath} ${CHILD} out 'hello from the child' out`),
      );
    },
  );

  await t.test(
    'exit 0 completes the run; the child gets PYTHONUNBUFFERED=1 and pipes',
    async () => {
      const runId = nextId();
      const result = await runCli(
        execArgs(runId, ['--title', 'env check', '--json'], ['env', 'PYTHONUNBUFFERED']),
        { PYTHONUNBUFFERED: undefined },
      );
      assert.equal(result.code, 0, result.stderr);
      // With --json, stdout holds only our document; the command's stdout went to stderr.
      const summary = JSON.parse(result.stdout);
      assert.equal(summary.status, 'completed');
      assert.equal(summary.exitCode, 0);
      assert.equal(summary.runId, runId);
      assert.match(result.stderr, /PYTHONUNBUFFERED=1/);
      const run = await storedRun(url, runId);
      assert.equal(run.title, 'env check');
      assert.equal(run.status, 'completed');
      assert.equal(run.metadata.environment, 'exec');
    },
  );

  await t.test("what follows -- is the command's, --help included", async () => {
    const result = await runCli(execArgs(nextId(), [], ['args', '--help', '-v']));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '["--help","-v"]\n');
  });

  await t.test('exec with no command is a usage error', async () => {
    const result = await runCli(['exec', '--server', url, '--']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /missing the command to run.*\nRun agent-ops exec --help\n$/);
  });

  await t.test('a command that does not exist ends the run in error with exit 127', async () => {
    const runId = nextId();
    const result = await runCli([
      'exec',
      '--server',
      url,
      '--id',
      runId,
      '--',
      'no-such-command-xyz',
    ]);
    assert.equal(result.code, 127, result.stderr);
    assert.match(result.stderr, /cannot run "no-such-command-xyz": command not found/);
    const run = await storedRun(url, runId);
    assert.equal(run.status, 'error');
    assert.match(run.errorMessage, /command not found/);
  });

  await t.test(
    'Claude Code stream-json: paired, timed tool calls; cost and tokens in metadata',
    async () => {
      const runId = nextId();
      const result = await runCli(
        execArgs(runId, ['--format', 'claude'], ['replay', CLAUDE_STREAM, '20']),
      );
      assert.equal(result.code, 0, result.stderr);
      const events = await storedEvents(url, runId);
      const [started] = events;
      assert.equal(started.type, 'run.started');
      assert.equal(started.payload.sessionId, '5f1c2a9e-0d7b-4c41-9a8e-2b1f0c3d4e5f');
      assert.equal(started.payload.model, 'claude-sonnet-4-5-20250929');

      const calls = events.filter((event) => event.type === 'tool.called');
      const results = events.filter((event) => event.type === 'tool.result');
      assert.deepEqual(
        calls.map((event) => [event.payload.toolName, event.payload.toolCallId]),
        [
          ['Bash', 'toolu_01Bash'],
          ['Read', 'toolu_02Read'],
          ['Edit', 'toolu_03Edit'],
        ],
      );
      assert.deepEqual(calls[0].payload.args, {
        command: 'npm test',
        description: 'Run the test suite',
      });
      assert.deepEqual(
        results.map((event) => [event.payload.toolName, event.payload.toolCallId]),
        calls.map((event) => [event.payload.toolName, event.payload.toolCallId]),
      );
      for (const result of results) {
        assert.equal(typeof result.payload.duration, 'number');
        assert.ok(result.payload.duration >= 0);
      }
      assert.match(results[0].payload.error, /expected 4, got 5/);
      assert.equal(results[0].payload.result, undefined);
      assert.equal(results[1].payload.result, '1\texport const add = (a, b) => a + b + 1;');
      assert.ok(
        events.some(
          (event) => event.type === 'agent.message' && /off-by-one/.test(event.payload.text),
        ),
      );
      // An unknown line type is kept as plain output.
      assert.ok(outputEvents(events).some((event) => /"stream_event"/.test(event.payload.text)));

      // The turns report their tokens; the result line brings the totals up to its own.
      const run = await storedRun(url, runId);
      assert.deepEqual(run.usage, {
        inputTokens: 18,
        outputTokens: 512,
        cacheReadTokens: 20480,
        costUsd: 0.04213,
      });
      assert.equal(run.status, 'completed');
      assert.equal(run.toolCallCount, 3);
      const { costUsd, inputTokens, outputTokens, numTurns, durationMs, model, sessionId } =
        run.metadata;
      assert.deepEqual(
        { costUsd, inputTokens, outputTokens, numTurns, durationMs, model, sessionId },
        {
          costUsd: 0.04213,
          inputTokens: 18,
          outputTokens: 512,
          numTurns: 4,
          durationMs: 18234,
          model: 'claude-sonnet-4-5-20250929',
          sessionId: '5f1c2a9e-0d7b-4c41-9a8e-2b1f0c3d4e5f',
        },
      );
      assert.deepEqual(
        events.slice(-2).map((event) => event.type),
        ['agent.exit', 'run.completed'],
      );
    },
  );

  await t.test(
    'a Claude result that is an error ends the run in error with its message',
    async () => {
      const runId = nextId();
      const line = JSON.stringify({
        type: 'result',
        subtype: 'error_max_turns',
        is_error: true,
        num_turns: 10,
        cost_usd: 0.5,
        usage: { input_tokens: 100, output_tokens: 20 },
      });
      const result = await runCli(
        execArgs(runId, ['--format', 'claude'], ['out', line, 'exit', '1']),
      );
      assert.equal(result.code, 1);
      const run = await storedRun(url, runId);
      assert.equal(run.status, 'error');
      assert.equal(run.errorMessage, 'Claude Code ended with error_max_turns');
      assert.equal(run.metadata.costUsd, 0.5, 'older versions call it cost_usd');
    },
  );

  await t.test('pause, resume and stop from the API reach the process (/proc state)', async () => {
    const runId = nextId();
    const exec = cliFor(t, execArgs(runId, [], ['pid', 'tick', '20']));
    await exec.waitFor((stdout) => /^pid \d+$/m.test(stdout), 'the child to print its pid');
    const pid = pidIn(exec.stdout());
    assert.equal(procStat(pid)?.pgid, pid, 'the child leads its own process group');
    await waitFor('exec to attach to its control channel', async () =>
      (await storedRun(url, runId)).control?.producerAttached ? true : undefined,
    );

    await api(url, `/api/runs/${runId}/pause`, { method: 'POST' });
    await waitForStatus(runId, 'paused');
    // The kernel stops the process once it is scheduled: look until it shows.
    await waitFor('state T', async () => (procStat(pid)?.state === 'T' ? true : undefined));

    await api(url, `/api/runs/${runId}/resume`, { method: 'POST' });
    await waitForStatus(runId, 'running');
    await waitFor('not T', async () => (procStat(pid)?.state !== 'T' ? true : undefined));
    const ticks = (exec.stdout().match(/^tick/gm) ?? []).length;
    await exec.waitFor(
      (stdout) => (stdout.match(/^tick/gm) ?? []).length > ticks,
      'ticks to go on after resume',
    );

    await api(url, `/api/runs/${runId}/stop`, { method: 'POST', body: { reason: 'done here' } });
    const result = await exec.exited;
    assert.equal(result.code, 4, result.stderr);
    assert.equal(procStat(pid), undefined, 'the child is gone');
    const run = await storedRun(url, runId);
    assert.equal(run.status, 'stopped');
    const events = await storedEvents(url, runId);
    const [exit, stopped] = events.slice(-2);
    assert.equal(exit.type, 'agent.exit');
    assert.equal(exit.payload.signal, 'SIGTERM');
    assert.equal(stopped.type, 'run.stopped');
    assert.equal(stopped.payload.reason, 'done here');
    assert.equal(stopped.payload.by, 'producer');
    // Every tick printed before the end is recorded, in order.
    const recorded = outputEvents(events).map((event) => event.payload.text);
    assert.deepEqual(recorded, exec.stdout().trimEnd().split('\n'));
  });

  await t.test(
    'a paused child that ignores SIGTERM is still stopped: killed after --grace',
    async () => {
      const runId = nextId();
      const exec = cliFor(
        t,
        execArgs(runId, ['--grace', '1'], ['ignore-term', 'pid', 'tick', '50']),
      );
      await exec.waitFor((stdout) => /^pid \d+$/m.test(stdout), 'the child to print its pid');
      const pid = pidIn(exec.stdout());
      await waitFor('exec to attach', async () =>
        (await storedRun(url, runId)).control?.producerAttached ? true : undefined,
      );
      // Paused first: the stop must wake it (SIGCONT) as well as end it.
      await api(url, `/api/runs/${runId}/pause`, { method: 'POST' });
      await waitFor('state T', async () => (procStat(pid)?.state === 'T' ? true : undefined));
      await api(url, `/api/runs/${runId}/stop`, { method: 'POST' });
      const result = await exec.exited;
      assert.equal(result.code, 4, result.stderr);
      assert.equal(procStat(pid), undefined);
      const events = await storedEvents(url, runId);
      const [exit, stopped] = events.slice(-2);
      assert.equal(exit.payload.signal, 'SIGKILL');
      assert.equal(stopped.type, 'run.stopped');
      assert.equal(stopped.payload.forced, true);
    },
  );

  await t.test(
    'SIGINT to exec stops the run and leaves no process of the group behind',
    async () => {
      const runId = nextId();
      const exec = cliFor(
        t,
        execArgs(runId, ['--grace', '1'], ['pid', 'grandchild', 'tick', '50']),
      );
      await exec.waitFor((stdout) => /^grandchild \d+$/m.test(stdout), 'the grandchild pid');
      const pid = pidIn(exec.stdout());
      const grandchild = pidIn(exec.stdout(), 'grandchild');
      assert.equal(procStat(grandchild)?.pgid, pid, 'the grandchild is in the group');
      exec.proc.kill('SIGINT');
      const result = await exec.exited;
      assert.equal(result.code, 130, result.stderr);
      assert.deepEqual(liveGroupMembers(pid), []);
      const run = await storedRun(url, runId);
      assert.equal(run.status, 'stopped');
      const stopped = (await storedEvents(url, runId)).at(-1);
      assert.equal(stopped.payload.reason, 'SIGINT');
    },
  );

  await t.test(
    'SIGTERM to exec: the group gets SIGTERM, then SIGKILL after --grace; stopped, exit 143',
    async () => {
      const runId = nextId();
      const exec = cliFor(
        t,
        execArgs(runId, ['--grace', '1'], ['ignore-term', 'pid', 'grandchild', 'tick', '50']),
      );
      await exec.waitFor((stdout) => /^grandchild \d+$/m.test(stdout), 'the grandchild pid');
      const pid = pidIn(exec.stdout());
      const grandchild = pidIn(exec.stdout(), 'grandchild');
      assert.equal(procStat(grandchild)?.pgid, pid, 'the grandchild is in the group');
      exec.proc.kill('SIGTERM');
      const result = await exec.exited;
      assert.equal(result.code, 143, result.stderr);
      assert.match(result.stderr, /SIGTERM: stopping/);
      assert.deepEqual(liveGroupMembers(pid), [], 'no process of the group is left');
      const run = await storedRun(url, runId);
      assert.equal(run.status, 'stopped');
      const [exit, stopped] = (await storedEvents(url, runId)).slice(-2);
      assert.equal(exit.type, 'agent.exit');
      assert.equal(exit.payload.signal, 'SIGKILL', 'it ignored SIGTERM, so SIGKILL ended it');
      assert.equal(stopped.type, 'run.stopped');
      assert.equal(stopped.payload.reason, 'SIGTERM');
      assert.equal(stopped.payload.forced, true);
    },
  );

  await t.test(
    'SIGHUP to exec: the group gets SIGTERM; stopped with reason SIGHUP, exit 129',
    async () => {
      const runId = nextId();
      const exec = cliFor(t, execArgs(runId, ['--grace', '5'], ['pid', 'tick', '50']));
      await exec.waitFor((stdout) => /^tick \d+$/m.test(stdout), 'the child to tick');
      const pid = pidIn(exec.stdout());
      exec.proc.kill('SIGHUP');
      const result = await exec.exited;
      assert.equal(result.code, 129, result.stderr);
      assert.deepEqual(liveGroupMembers(pid), [], 'no process of the group is left');
      const run = await storedRun(url, runId);
      assert.equal(run.status, 'stopped');
      const [exit, stopped] = (await storedEvents(url, runId)).slice(-2);
      assert.equal(exit.payload.signal, 'SIGTERM', 'SIGTERM was enough');
      assert.equal(stopped.type, 'run.stopped');
      assert.equal(stopped.payload.reason, 'SIGHUP');
      assert.equal(stopped.payload.forced, undefined);
    },
  );

  await t.test(
    'the server lost mid-run: the output still passes through, then exit 3 naming the server',
    async () => {
      const lost = await serverFor(t);
      const runId = nextId();
      const total = 40;
      const exec = cliFor(t, [
        'exec',
        '--server',
        lost.url,
        '--retry-for',
        '1',
        '--id',
        runId,
        '--',
        process.execPath,
        CHILD,
        'ticks',
        String(total),
        '50',
        'exit',
        '0',
      ]);
      await exec.waitFor((stdout) => /^tick 1$/m.test(stdout), 'the first tick');
      await lost.kill();
      const result = await exec.exited;
      assert.equal(result.code, 3, result.stderr);
      assert.equal(
        result.stdout,
        Array.from({ length: total }, (_, i) => `tick ${i + 1}\n`).join(''),
        'every line is passed through',
      );
      assert.ok(
        result.stderr.includes(`cannot reach the server at ${lost.url}`),
        `names the server: ${result.stderr}`,
      );
    },
  );

  await t.test(
    'secrets are redacted before sending unless --no-redact; the terminal sees them',
    async () => {
      const secrets = [
        'OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234567890',
        'curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"',
        'config api_key=hunter2hunter2 token: 0123456789abcdef',
        'aws AKIAIOSFODNN7EXAMPLE',
      ];
      const actions = secrets.flatMap((line) => ['out', line]);
      const runId = nextId();
      const result = await runCli(execArgs(runId, [], [...actions, 'err', 'apikey: s3cr3t-value']));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${secrets.join('\n')}\n`, 'the terminal gets the real output');
      const sent = (await storedEvents(url, runId)).filter((event) =>
        event.type.startsWith('agent.std'),
      );
      assert.deepEqual(
        sent.map((event) => event.payload.text),
        [
          'OPENAI_API_KEY=[REDACTED]',
          'curl -H "Authorization: Bearer [REDACTED]"',
          'config api_key=[REDACTED] token: [REDACTED]',
          'aws [REDACTED]',
          'apikey: [REDACTED]',
        ],
      );
      const title = (await storedRun(url, runId)).title;
      assert.doesNotMatch(title, /hunter2|sk-proj|AKIAIOSFODNN7EXAMPLE/);

      const plainId = nextId();
      assert.equal((await runCli(execArgs(plainId, ['--no-redact'], actions))).code, 0);
      const plain = outputEvents(await storedEvents(url, plainId)).map(
        (event) => event.payload.text,
      );
      assert.deepEqual(plain, secrets);
    },
  );

  await t.test('a very long line and binary output are recorded, never crashed on', async () => {
    const runId = nextId();
    const result = await runCli(execArgs(runId, [], ['long', '200000', 'binary', 'out', 'after']));
    assert.equal(result.code, 0, result.stderr);
    const lines = outputEvents(await storedEvents(url, runId));
    const long = lines.filter((event) => event.payload.line === 1);
    assert.ok(long.length >= 4, 'split into pieces');
    assert.equal(long.map((event) => event.payload.text).join(''), 'x'.repeat(200000));
    assert.deepEqual(
      long.map((event) => event.payload.partial === true),
      long.map((_, i) => i < long.length - 1),
      'every piece but the last is marked partial',
    );
    const [binary, after] = lines.filter((event) => event.payload.line > 1);
    assert.equal(binary.payload.line, 2);
    assert.match(binary.payload.text, /^bin\uFFFD+\(?$/u);
    assert.deepEqual(after.payload, { line: 3, text: 'after' });
  });

  await t.test('a flood is merged into fewer events, every line accounted for', async () => {
    const runId = nextId();
    const total = 20_000;
    const result = await runCli(execArgs(runId, [], ['flood', String(total)]));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split('\n').length - 1, total, 'passed through in full');
    const lines = outputEvents(await storedEvents(url, runId));
    assert.ok(lines.length < total / 4, `merged into ${lines.length} events`);
    assert.ok(lines.some((event) => event.payload.merged > 1));
    let next = 1;
    for (const event of lines) {
      const count = event.payload.merged ?? 1;
      assert.equal(event.payload.line, next, 'consecutive lines, none skipped');
      const texts = event.payload.text.split('\n');
      assert.equal(texts.length, count);
      assert.equal(texts[0], `line ${next}`);
      assert.equal(texts.at(-1), `line ${next + count - 1}`);
      next += count;
    }
    assert.equal(next - 1, total, 'the merged counts add up to every line');
  });
});
