// Usage errors, help and version: no server needed, every problem is one line plus the pointer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers/cli.ts';

const USAGE_ERRORS: ReadonlyArray<{
  args: string[];
  message: string;
  help?: string;
  env?: Record<string, string>;
}> = [
  { args: ['--steps', '-3'], message: '--steps must be an integer from 1 to 1,000,000; got "-3"' },
  {
    args: ['--steps', 'abc'],
    message: '--steps must be an integer from 1 to 1,000,000; got "abc"',
  },
  {
    args: ['--steps', '2.5'],
    message: '--steps must be an integer from 1 to 1,000,000; got "2.5"',
  },
  { args: ['--failAt', '0'], message: '--failAt must be an integer from 1 to 1,000,000; got "0"' },
  {
    args: ['--steps', '5', '--fail-at', '6'],
    message: '--failAt must be at most --steps (5); got "6"',
  },
  { args: ['--failAt', '11'], message: '--failAt must be at most --steps (10); got "11"' },
  {
    args: ['--interval', 'soon'],
    message:
      '--interval must be a duration like 250ms, 5s, 2m or 1h (units ms, s, m, h; a bare number is in ms); got "soon"',
  },
  {
    args: ['--interval', '2d'],
    message:
      '--interval must be a duration like 250ms, 5s, 2m or 1h (units ms, s, m, h; a bare number is in ms); got "2d"',
  },
  { args: ['--interval', '2h'], message: '--interval must be from 0ms to 1h; got "2h"' },
  {
    args: ['exec', '--grace', '5 sec', '--', 'true'],
    message:
      '--grace must be a duration like 250ms, 5s, 2m or 1h (units ms, s, m, h; a bare number is in s); got "5 sec"',
    help: 'exec',
  },
  {
    args: ['pause', 'run-1', '--wait', '1w'],
    message:
      '--wait must be a duration like 250ms, 5s, 2m or 1h (units ms, s, m, h; a bare number is in s); got "1w"',
    help: 'pause',
  },
  { args: ['--retry-for', '25h'], message: '--retry-for must be from 0ms to 24h; got "25h"' },
  { args: ['--seed', 'x'], message: '--seed must be an integer from 0 to 4,294,967,295; got "x"' },
  { args: ['--runs', '0'], message: '--runs must be an integer from 1 to 100,000; got "0"' },
  {
    args: ['--retry-for', '-1'],
    message:
      '--retry-for must be a duration like 250ms, 5s, 2m or 1h (units ms, s, m, h; a bare number is in s); got "-1"',
  },
  { args: ['--steps'], message: '--steps needs a value' },
  { args: ['--stpes', '3'], message: 'unknown option "--stpes"' },
  { args: ['--json=yes'], message: '--json takes no value; got "--json=yes"' },
  {
    args: ['--server', 'localhost:8787'],
    message: '--server must be an http:// or https:// URL; got "localhost:8787"',
  },
  {
    args: ['--server', 'http://127.0.0.1:8787/api'],
    message:
      '--server must be the server\'s address with no path; got "http://127.0.0.1:8787/api", give "http://127.0.0.1:8787"',
  },
  {
    args: ['ls'],
    env: { AGENTOPS_SERVER: 'http://example.test/agent-ops/?x=1' },
    message:
      '--server must be the server\'s address with no path; got "http://example.test/agent-ops/?x=1", give "http://example.test"',
    help: 'ls',
  },
  // Global options may come before the command word; the command then judges the line.
  { args: ['--server', 'http://127.0.0.1:9', 'emit'], message: 'missing <runId>', help: 'emit' },
  {
    args: ['--json', '--retry-for', '1s', 'tail', 'a', 'b'],
    message: 'unexpected argument "b"',
    help: 'tail',
  },
  {
    args: ['--api-key=k', 'finish', 'run-1', '--status', 'done'],
    message: '--status must be one of completed, error, stopped; got "done"',
    help: 'finish',
  },
  {
    args: ['--no-color', 'deploy'],
    message:
      'unknown command "deploy"; commands: run, start, emit, finish, ls, tail, compare, exec, pause, resume, stop, enqueue, worker, workers, ask, approve, deny, approvals, say, hook, serve, help',
  },
  {
    args: ['serve', '--port', 'x'],
    message: '--port must be an integer from 0 to 65,535; got "x"',
    help: 'serve',
  },
  { args: ['serve', '--bogus'], message: 'unknown option "--bogus"', help: 'serve' },
  {
    args: ['serve', '--fsync', 'sometimes'],
    message: '--fsync must be one of batch, always, never; got "sometimes"',
    help: 'serve',
  },
  {
    args: ['serve'],
    env: { PORT: '99999' },
    message: 'PORT must be an integer from 0 to 65,535; got "99999"',
    help: 'serve',
  },
  { args: ['serve', 'now'], message: 'unexpected argument "now"', help: 'serve' },
  {
    args: ['--server', 'http://127.0.0.1:9', 'serve'],
    message: 'unknown option "--server"',
    help: 'serve',
  },
  {
    args: ['--id', 'no spaces'],
    message:
      '--id must be letters, digits, . _ : - (at most 128, starting with a letter or digit); got "no spaces"',
  },
  {
    args: ['--title', 't'.repeat(501)],
    message: '--title must be at most 500 characters; got 501',
  },
  {
    args: ['start', '--id', 'bad id!'],
    message:
      '--id must be letters, digits, . _ : - (at most 128, starting with a letter or digit); got "bad id!"',
    help: 'start',
  },
  {
    args: ['exec', '--title', 't'.repeat(501), '--', 'true'],
    message: '--title must be at most 500 characters; got 501',
    help: 'exec',
  },
  {
    args: ['--id', 'one', '--runs', '2'],
    message: '--id names one run and cannot be used with --runs 2',
  },
  {
    args: ['deploy'],
    message:
      'unknown command "deploy"; commands: run, start, emit, finish, ls, tail, compare, exec, pause, resume, stop, enqueue, worker, workers, ask, approve, deny, approvals, say, hook, serve, help',
  },
  { args: ['start', 'extra'], message: 'unexpected argument "extra"', help: 'start' },
  {
    args: ['start', '--metadata', '[1]'],
    message: `--metadata must be a JSON object like '{"step":1}'; got "[1]"`,
    help: 'start',
  },
  { args: ['emit'], message: 'missing <runId>', help: 'emit' },
  { args: ['emit', 'run-1'], message: 'missing <type>, e.g. task.progress', help: 'emit' },
  {
    args: ['emit', 'bad id!', 'x'],
    message:
      '<runId> must be letters, digits, . _ : - (at most 128, starting with a letter or digit); got "bad id!"',
    help: 'emit',
  },
  {
    args: ['emit', 'run-1', 'no spaces'],
    message:
      'event.type must be a dotted name like "task.progress" (letters, digits, _ . : / -, at most 128); got "no spaces"',
    help: 'emit',
  },
  {
    args: ['emit', 'run-1', 'x', '--payload', '{nope'],
    message: `--payload must be a JSON object like '{"step":1}'; got "{nope", which is not JSON`,
    help: 'emit',
  },
  {
    args: ['emit', 'run-1', 'x', '--level', 'loud'],
    message: '--level must be one of debug, info, warn, error; got "loud"',
    help: 'emit',
  },
  {
    args: ['finish', 'run-1', '--status', 'done'],
    message: '--status must be one of completed, error, stopped; got "done"',
    help: 'finish',
  },
  {
    args: ['ls', '--status', 'finished'],
    message:
      '--status must be one of queued, running, paused, completed, error, stopped; got "finished"',
    help: 'ls',
  },
  {
    args: ['ls', '--limit', '5000'],
    message: '--limit must be an integer from 1 to 1,000; got "5000"',
    help: 'ls',
  },
  { args: ['tail'], message: 'missing <runId>', help: 'tail' },
  {
    args: ['tail', 'run-1', '--all'],
    message: '--all follows every run; got a run id too: "run-1"',
    help: 'tail',
  },
  {
    args: ['help', 'nope'],
    message:
      'unknown command "nope"; commands: run, start, emit, finish, ls, tail, compare, exec, pause, resume, stop, enqueue, worker, workers, ask, approve, deny, approvals, say, hook, serve, help',
  },
];

const COMMANDS = ['start', 'emit', 'finish', 'ls', 'tail', 'exec', 'pause', 'serve'];

test('agent-ops usage', async (t) => {
  await t.test(
    'each usage error exits 2 with one line naming it, then the help pointer',
    async () => {
      // Nothing listens there: a usage error must be found before any request.
      const base = { AGENTOPS_SERVER: 'http://127.0.0.1:9' };
      await Promise.all(
        USAGE_ERRORS.map(async ({ args, message, help, env }) => {
          const result = await runCli(args, { ...base, ...env });
          const pointer = help ? `Run agent-ops ${help} --help` : 'Run agent-ops --help';
          assert.equal(result.stderr, `agent-ops: ${message}\n${pointer}\n`, args.join(' '));
          assert.equal(result.code, 2, args.join(' '));
          assert.equal(result.stdout, '');
        }),
      );
    },
  );

  await t.test(
    'every command has the same help layout: Usage, Options with defaults, Examples',
    async () => {
      for (const command of COMMANDS) {
        for (const args of [
          [command, '--help'],
          [command, '-h'],
          ['help', command],
        ]) {
          const result = await runCli(args);
          assert.equal(result.code, 0, args.join(' '));
          assert.equal(result.stderr, '');
          assert.match(
            result.stdout,
            /^agent-ops \d+\.\d+\.\d+: .+\n\nUsage\n {2}\$ agent-ops .+\n\nOptions\n/,
            args.join(' '),
          );
          assert.match(result.stdout, /\n {2}--help, -h +Show this help\n/);
          if (command !== 'serve')
            assert.match(
              result.stdout,
              /\n {2}--retry-for, --retryFor <duration> .*\(default 1m\)\n/,
            );
          assert.match(result.stdout, /\n\nExamples\n( {2}\$ .*agent-ops .+\n)+$/);
        }
      }
    },
  );

  await t.test(
    'the top-level help lists every command, then the runner options and defaults',
    async () => {
      const result = await runCli(['--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, /\nCommands\n/);
      for (const command of ['run', ...COMMANDS, 'serve', 'help'])
        assert.match(result.stdout, new RegExp(`\\n {2}${command} +\\S`));
      for (const [flag, fallback] of [
        ['--steps', '10'],
        ['--interval', '500ms'],
        ['--server', '"http://localhost:8787"'],
        ['--title', '"Agent Test Run"'],
      ]) {
        assert.match(
          result.stdout,
          new RegExp(`\\n {2}${flag} <\\w+> .*\\(default ${fallback}\\)\\n`),
        );
      }
      assert.match(result.stdout, /--failAt, --fail-at <step>/);
      assert.match(
        result.stdout,
        /come before the\ncommand .*: --server, --api-key, --retry-for, /,
      );
      assert.match(result.stdout, /--apiKey, --api-key <key>/);
      assert.equal((await runCli(['run', '--help'])).stdout, result.stdout);
      assert.equal((await runCli(['help'])).stdout, result.stdout);
      // --help wins over a bad value elsewhere on the line.
      assert.equal((await runCli(['--steps', 'abc', '--help'])).code, 0);
    },
  );

  await t.test(
    'serve prints its defaults, the same the server uses, in the common layout',
    async () => {
      const result = await runCli(['serve', '--help']);
      assert.equal(result.code, 0);
      for (const [flag, fallback] of [
        ['--port <n>', '8787'],
        ['--host <addr>', '"127.0.0.1"'],
        ['--data <dir>', '"./data"'],
        ['--fsync <mode>', '"batch"'],
      ])
        assert.match(result.stdout, new RegExp(`\\n {2}${flag} .*\\(default ${fallback}\\)\\n`));
      assert.match(result.stdout, /\n {2}--retention <n> .*default unlimited/);
      assert.match(result.stdout, /AGENTOPS_API_KEY/);
    },
  );

  await t.test('--help may come before the command word', async () => {
    const before = await runCli(['--help', 'ls']);
    assert.equal(before.code, 0);
    assert.equal(before.stdout, (await runCli(['ls', '--help'])).stdout);
  });

  await t.test('--version prints the version', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
