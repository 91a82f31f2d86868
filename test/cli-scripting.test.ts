// start / emit / finish from shell scripts and CI, and ls: exit codes, stdout, --json, and what
// the server stored.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliEnv, runCli, storedEvents, storedRun, type CliResult } from './helpers/cli.ts';
import { CLI, serverFor, tempDir } from './helpers/server.ts';

function bash(script: string, env: Record<string, string>): Promise<CliResult> {
  const proc = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    env: cliEnv({
      ...env,
      AGENT_OPS: `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`,
    }),
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

test('agent-ops start / emit / finish / ls', async (t) => {
  const server = await serverFor(t);
  const env = { AGENTOPS_SERVER: server.url };

  await t.test('a shell script creates a run, reports its steps and finishes it', async () => {
    const summary = join(tempDir(), 'summary.md');
    const result = await bash(
      `
      ao() { eval "$AGENT_OPS" '"$@"'; }
      RUN=$(ao start --title "nightly build")
      for step in 1 2 3; do
        ao emit "$RUN" task.progress --payload "{\\"step\\":$step,\\"total\\":3}" > /dev/null
      done
      ao emit "$RUN" tool.called --task-id t1 --payload '{"toolName":"make","toolCallId":"c1"}' > /dev/null
      ao emit "$RUN" log --level warn --agent-id builder --payload '{"message":"slow disk"}' > /dev/null
      ao finish "$RUN" > /dev/null
      echo "$RUN"
      `,
      { ...env, GITHUB_STEP_SUMMARY: summary },
    );
    assert.equal(result.code, 0, result.stderr);
    const runId = result.stdout.trim();
    assert.match(runId, /^run-\d+-\w+$/);

    const run = await storedRun(server.url, runId);
    assert.equal(run.title, 'nightly build');
    assert.equal(run.status, 'completed');
    const events = await storedEvents(server.url, runId);
    assert.deepEqual(
      events.map((event) => event.type),
      [
        'run.started',
        'task.progress',
        'task.progress',
        'task.progress',
        'tool.called',
        'log',
        'run.completed',
      ],
    );
    assert.deepEqual(
      events.slice(1, 4).map((event) => event.payload),
      [1, 2, 3].map((step) => ({ step, total: 3 })),
    );
    assert.equal(events[4].taskId, 't1');
    assert.deepEqual([events[5].level, events[5].agentId], ['warn', 'builder']);
    assert.match(readFileSync(summary, 'utf8'), /\| Status \| .*completed \|/);
  });

  await t.test(
    'finish --status error exits 1 with the message in the run and the summary',
    async () => {
      const summary = join(tempDir(), 'summary.md');
      const result = await bash(
        `
      ao() { eval "$AGENT_OPS" '"$@"'; }
      RUN=$(ao start --title ci)
      echo "$RUN"
      ao emit "$RUN" task.progress --payload '{"step":1}' > /dev/null
      ao finish "$RUN" --status error --message "step 1 failed: tests red"
      `,
        { ...env, GITHUB_STEP_SUMMARY: summary },
      );
      assert.equal(result.code, 1, result.stderr);
      const [runId, line] = result.stdout.trim().split('\n');
      assert.equal(line, `${runId} error: step 1 failed: tests red (3 events)`);
      const run = await storedRun(server.url, runId!);
      assert.equal(run.status, 'error');
      assert.equal(run.errorMessage, 'step 1 failed: tests red');
      const last = (await storedEvents(server.url, runId!)).at(-1);
      assert.deepEqual(
        [last.type, last.level, last.payload.message],
        ['run.error', 'error', 'step 1 failed: tests red'],
      );
      assert.match(readFileSync(summary, 'utf8'), /step 1 failed: tests red/);
    },
  );

  await t.test('finish --status stopped exits 4', async () => {
    const start = await runCli(['start', '--id', 'script-stopped'], env);
    assert.equal(start.code, 0, start.stderr);
    const finish = await runCli(['finish', 'script-stopped', '--status', 'stopped'], env);
    assert.equal(finish.code, 4, finish.stderr);
    assert.equal((await storedRun(server.url, 'script-stopped')).status, 'stopped');
  });

  await t.test('finish of an unknown run exits 1 and creates nothing', async () => {
    const result = await runCli(['finish', 'no-such-run'], env);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^agent-ops: no run "no-such-run" on http:\/\/\S+; `agent-ops ls` lists the runs there\n$/,
    );
    assert.equal((await fetch(`${server.url}/api/runs/no-such-run`)).status, 404);
  });

  await t.test('--json prints one parseable document for start, emit, finish and ls', async () => {
    const start = await runCli(
      ['start', '--title', 'json', '--metadata', '{"commit":"abc"}', '--json'],
      env,
    );
    assert.equal(start.code, 0, start.stderr);
    const run = JSON.parse(start.stdout);
    assert.equal(run.title, 'json');
    assert.deepEqual(run.metadata, { commit: 'abc' });
    assert.equal(run.url, `${server.url}/#/runs/${run.id}`);

    const emit = await runCli(
      ['emit', run.id, 'metric', '--payload', '{"name":"x","value":1}', '--json'],
      env,
    );
    assert.equal(emit.code, 0, emit.stderr);
    const event = JSON.parse(emit.stdout);
    assert.deepEqual(
      [event.seq, event.type, event.runId, event.payload],
      [2, 'metric', run.id, { name: 'x', value: 1 }],
    );

    const finish = await runCli(['finish', run.id, '--json'], env);
    assert.equal(finish.code, 0, finish.stderr);
    const finished = JSON.parse(finish.stdout);
    assert.deepEqual([finished.id, finished.status, finished.eventCount], [run.id, 'completed', 3]);

    const ls = await runCli(['ls', '--json', '--limit', '2'], env);
    assert.equal(ls.code, 0, ls.stderr);
    const runs = JSON.parse(ls.stdout);
    assert.equal(runs.length, 2);
    assert.equal(runs[0].id, run.id, 'newest first');
  });

  await t.test('emit with the same --id twice stores the event once', async () => {
    const args = ['emit', 'script-dedup', 'note', '--id', 'evt-1', '--payload', '{"n":1}'];
    const first = await runCli(args, env);
    const second = await runCli(args, env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(first.stdout, 'stored event 1 (note) in script-dedup\n');
    assert.equal(second.stdout, 'stored event 1 (note) in script-dedup, already there\n');
    assert.equal((await storedEvents(server.url, 'script-dedup')).length, 1);
  });

  await t.test('ls prints a table of runs, filtered by --status', async () => {
    const result = await runCli(['ls', '--status', 'error'], env);
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = result.stdout.trim().split('\n');
    assert.match(header!, /^ID +STATUS +EVENTS +TOOLS +ERRORS +UPDATED +TITLE$/);
    assert.ok(rows.length >= 1);
    for (const row of rows) assert.match(row, /^\S+ +error +\d+ +\d+ +\d+ +\d+[smhd] ago +\S/);

    const none = await runCli(['ls', '--status', 'paused'], env);
    assert.equal(none.stdout, 'no runs\n');
  });

  await t.test('ls fits the terminal width, cutting long titles with …', async () => {
    const title = `wide ${'title '.repeat(40)}end`;
    const started = await runCli(['start', '--id', 'script-wide', '--title', title], env);
    assert.equal(started.code, 0, started.stderr);
    for (const columns of [60, 100]) {
      // stdout is a pipe here, so COLUMNS is the terminal's width, as a shell exports it.
      const result = await runCli(['ls', '--search', 'script-wide'], {
        ...env,
        COLUMNS: String(columns),
      });
      assert.equal(result.code, 0, result.stderr);
      const [header, row] = result.stdout.trim().split('\n');
      assert.match(header!, /TITLE$/);
      assert.ok(row!.length <= columns, `${row!.length} > ${columns}: ${row}`);
      assert.match(row!, /^script-wide +running +.*wide title title .*…$/);
    }
    const unlimited = await runCli(['ls', '--search', 'script-wide'], {
      ...env,
      COLUMNS: undefined,
    });
    assert.ok(unlimited.stdout.includes(title), 'the whole title when no width is known');
  });

  await t.test('ls on a terminal fits the terminal (its columns, not COLUMNS)', async () => {
    // util-linux `script` gives the CLI a pseudo-terminal 60 columns wide.
    const line = `stty cols 60; exec '${process.execPath}' '${CLI}' ls --search script-wide`;
    const proc = spawn('script', ['-qec', line, '/dev/null'], {
      env: cliEnv({ ...env, NO_COLOR: '1', COLUMNS: '200' }),
    });
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const code = await new Promise((resolve) => proc.once('close', resolve));
    assert.equal(code, 0, stdout);
    const [header, row] = stdout.trim().split(/\r?\n/);
    assert.match(header!, /^ID +STATUS +.*TITLE$/);
    assert.ok(row!.length <= 60, `${row!.length} > 60: ${row}`);
    assert.match(row!, /^script-wide +running +.*wide title .*…$/);
  });

  await t.test('a wrong key exits 3 for every command', async () => {
    const keyed = await serverFor(t, { env: { AGENTOPS_API_KEY: 'right' } });
    const wrong = { AGENTOPS_SERVER: keyed.url, AGENTOPS_API_KEY: 'wrong' };
    for (const args of [['start'], ['emit', 'r1', 'x'], ['finish', 'r1'], ['ls'], ['tail', 'r1']]) {
      const result = await runCli(args, wrong);
      assert.equal(result.code, 3, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /rejected the API key \(401/);
    }
    const right = await runCli(['start', '--json'], { ...wrong, AGENTOPS_API_KEY: 'right' });
    assert.equal(right.code, 0, right.stderr);
  });
});
