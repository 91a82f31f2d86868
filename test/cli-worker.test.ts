// Black-box specification of `agent-ops worker`, `enqueue` and `workers`: real CLI processes
// against a real server. Tasks run as exec runs them, {param} fills one whole argument, bad input
// fails the run and not the worker, lost workers and lost servers, Ctrl-C.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Run, WorkerInfo } from '../shared/types.ts';
import { runCli, spawnCli, storedEvents, storedRun, type CliProcess } from './helpers/cli.ts';
import { api } from './helpers/http.ts';
import { serverFor, startServer, tempDir } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const NODE = process.execPath;
const ECHO = `echo=${NODE} -e "console.log(JSON.stringify(process.argv.slice(1)))" {msg}`;
/** A task that runs until it is stopped; each test names its own, so no other worker takes it. */
const hang = (name: string) => `${name}=${NODE} -e "setInterval(() => {}, 1000)"`;
const FAIL = `fail=${NODE} -e "process.exit(3)"`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('agent-ops worker', async (t) => {
  const server = await serverFor(t, { args: ['--lost-after', '500ms'] });
  const { url } = server;
  let counter = 0;

  /** A worker process, killed (with whatever it started) when the test ends. */
  const startWorker = async (args: string[]): Promise<CliProcess> => {
    const name = `worker-${++counter}`;
    const worker = spawnCli(['worker', '--server', url, '--name', name, ...args]);
    t.after(() => worker.proc.kill('SIGKILL'));
    await worker.waitFor((stdout) => stdout.includes('ready:'), 'the worker to be ready');
    return worker;
  };
  const enqueue = (args: string[]) => runCli(['enqueue', '--server', url, ...args]);
  const untilStatus = (runId: string, status: string, at = url) =>
    waitFor(`run ${runId} to be ${status}`, async () => {
      const run = (await storedRun(at, runId).catch(() => undefined)) as Run | undefined;
      return run?.status === status ? run : undefined;
    });
  /** The pid of the command a run started, killed with its group when the test ends. */
  const commandPid = async (runId: string, at = url): Promise<number> => {
    const started = await waitFor('run.started', async () =>
      (await storedEvents(at, runId)).find((e) => e.type === 'run.started'),
    );
    const pid = started.payload.pid as number;
    t.after(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    return pid;
  };

  const worker = await startWorker([
    '--task',
    ECHO,
    '--task',
    FAIL,
    '--task',
    'missing=no-such-program-here {x}',
    '--simulate',
    '--concurrency',
    '2',
  ]);

  await t.test(
    'enqueue prints the run id; the worker runs it, each {param} one whole argument',
    async () => {
      const msg = `two words; $(touch /nonexistent) "quoted" {msg}`;
      const result = await enqueue(['echo', '--param', `msg=${msg}`, '--wait']);
      assert.equal(result.code, 0, result.stderr);
      const runId = result.stdout.trim();
      const run = await storedRun(url, runId);
      assert.equal(run.status, 'completed');
      assert.equal(run.task, 'echo');
      assert.deepEqual(run.input, { msg });
      const events = await storedEvents(url, runId);
      const line = events.find((e) => e.type === 'agent.stdout');
      assert.deepEqual(JSON.parse(line.payload.text), [msg]);
      assert.ok(events.some((e) => e.type === 'agent.exit'));
    },
  );

  await t.test('--wait exits 1 when the run fails and 4 when it is stopped', async () => {
    const failed = await enqueue(['fail', '--wait']);
    assert.equal(failed.code, 1, failed.stderr);
    const waiting = spawnCli([
      'enqueue',
      '--server',
      url,
      'simulate',
      '--input',
      '{"steps":100000,"interval":200}',
      '--wait',
    ]);
    t.after(() => waiting.proc.kill('SIGKILL'));
    await waiting.waitFor((stdout) => /run-\S+\n/.test(stdout), 'the run id');
    const runId = waiting.stdout().trim();
    await untilStatus(runId, 'running');
    await api(url, `/api/runs/${runId}/stop`, { method: 'POST' });
    const result = await waiting.exited;
    assert.equal(result.code, 4, result.stderr);
    assert.equal((await storedRun(url, runId)).status, 'stopped');
  });

  await t.test(
    'a missing or extra parameter fails that run with a clear message; the worker goes on',
    async () => {
      const missing = await enqueue(['echo', '--wait']);
      assert.equal(missing.code, 1);
      const missingRun = await storedRun(url, missing.stdout.trim());
      assert.equal(
        missingRun.errorMessage,
        'task "echo" needs a value for {msg} (input "msg"); got none',
      );
      const extra = await enqueue(['echo', '--param', 'msg=hi', '--param', 'shell=sh', '--wait']);
      assert.equal(extra.code, 1);
      const extraRun = await storedRun(url, extra.stdout.trim());
      assert.equal(extraRun.errorMessage, 'task "echo" has no parameter "shell"; it takes msg');
      const fine = await enqueue(['echo', '--param', 'msg=still here', '--wait']);
      assert.equal(fine.code, 0, fine.stderr);
      assert.equal(worker.proc.exitCode, null);
    },
  );

  await t.test(
    'a command that does not exist fails the run with the spawn error; the worker goes on',
    async () => {
      const result = await enqueue(['missing', '--param', 'x=1', '--wait']);
      assert.equal(result.code, 1);
      const run = await storedRun(url, result.stdout.trim());
      assert.equal(run.errorMessage, 'cannot run "no-such-program-here": command not found');
      assert.equal(worker.proc.exitCode, null);
      assert.equal((await enqueue(['echo', '--param', 'msg=ok', '--wait'])).code, 0);
    },
  );

  await t.test(
    '--simulate runs the simulated agent with steps, interval (ms or a duration) and failAt',
    async () => {
      const done = await enqueue(['simulate', '--input', '{"steps":3,"interval":0}', '--wait']);
      assert.equal(done.code, 0, done.stderr);
      const run = await storedRun(url, done.stdout.trim());
      assert.equal(run.metadata.totalSteps, 3);
      const failed = await enqueue([
        'simulate',
        '--param',
        'steps=5',
        '--param',
        'interval=1ms',
        '--param',
        'failAt=2',
        '--wait',
      ]);
      assert.equal(failed.code, 1);
      const failedEvents = await storedEvents(url, failed.stdout.trim());
      assert.equal(
        failedEvents.find((event) => event.type === 'run.started')?.payload.config.interval,
        1,
      );
      assert.equal(
        (await storedRun(url, failed.stdout.trim())).errorMessage,
        'Simulated failure at step 2',
      );
      const bad = await enqueue(['simulate', '--param', 'steps=many', '--wait']);
      assert.equal(bad.code, 1);
      assert.match(
        (await storedRun(url, bad.stdout.trim())).errorMessage,
        /^task "simulate": steps must be an integer from 1 to/,
      );
    },
  );

  await t.test(
    'enqueue: a task nobody offers is queued and said so; bad input is a usage error',
    async () => {
      const nobody = await enqueue(['nobody-offers-this']);
      assert.equal(nobody.code, 0, nobody.stderr);
      assert.match(
        nobody.stderr,
        /no online worker offers task "nobody-offers-this" yet; the run waits in the queue/,
      );
      assert.equal((await storedRun(url, nobody.stdout.trim())).status, 'queued');
      const cases: Array<[string[], RegExp]> = [
        [['echo', '--input', '{bad'], /--input must be a JSON object like .*which is not JSON/],
        [['echo', '--input', '{"a":{"b":1}}'], /--input\.a must be a string, number or boolean/],
        [
          ['echo', '--max-attempts', '11'],
          /--max-attempts must be an integer from 1 to 10; got "11"/,
        ],
        [['echo', '--param', 'novalue'], /--param must be name=value; got "novalue"/],
        [['bad name'], /the task must be a task name/],
        [[], /missing the task/],
      ];
      for (const [args, error] of cases) {
        const result = await enqueue(args);
        assert.equal(result.code, 2, args.join(' '));
        assert.match(result.stderr, error);
      }
    },
  );

  await t.test('worker: usage errors', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /offer at least one task/],
      [['--task', 'no-equals'], /--task must look like name='command \{param\} …'/],
      [['--task', 'x:yaml=cmd'], /the format must be one of text, jsonl, claude; got "yaml"/],
      [['--task', "x=cmd 'open"], /unclosed ' in/],
      [['--task', 'x={prog} a'], /the program itself cannot be a parameter/],
      [['--task', 'x=a', '--task', 'x=b'], /--task x is given twice/],
    ];
    for (const [args, error] of cases) {
      const result = await runCli(['worker', '--server', url, ...args]);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, error);
    }
  });

  await t.test('workers lists who is online, as a table and as JSON', async () => {
    const table = await runCli(['workers', '--server', url]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+STATE\s+RUNNING\s+TASKS\s+SINCE\s+RUNS$/m);
    assert.match(table.stdout, /worker-1\s+idle\s+0\/2\s+echo,fail,missing,simulate\s/);
    const json = await runCli(['workers', '--server', url, '--json']);
    const workers = JSON.parse(json.stdout) as WorkerInfo[];
    const listed = workers.find((w) => w.name === 'worker-1')!;
    assert.equal(listed.concurrency, 2);
    assert.deepEqual(
      listed.tasks.find((task) => task.name === 'echo'),
      {
        name: 'echo',
        params: [{ name: 'msg', required: true }],
        format: 'text',
      },
    );
  });

  await t.test('--concurrency is never exceeded', async () => {
    const busy = await startWorker([
      '--task',
      `nap=${NODE} -e "setTimeout(() => {}, 150)"`,
      '--concurrency',
      '2',
    ]);
    const results = await Promise.all(Array.from({ length: 6 }, () => enqueue(['nap', '--wait'])));
    assert.deepEqual(
      results.map((r) => r.code),
      [0, 0, 0, 0, 0, 0],
    );
    let running = 0;
    let most = 0;
    for (const line of busy.stdout().split('\n')) {
      if (/: claimed \(/.test(line)) most = Math.max(most, ++running);
      else if (/: (completed|error|stopped)/.test(line)) running--;
    }
    assert.equal(most, 2);
  });

  await t.test(
    'a worker killed with kill -9: its run is requeued and another worker ends it',
    async () => {
      const doomed = await startWorker(['--task', hang('hang')]);
      const queued = await enqueue(['hang', '--max-attempts', '2']);
      const runId = queued.stdout.trim();
      await untilStatus(runId, 'running');
      await commandPid(runId);
      doomed.proc.kill('SIGKILL');
      await untilStatus(runId, 'queued');
      const requeued = (await storedEvents(url, runId)).find((e) => e.type === 'run.requeued');
      assert.deepEqual([requeued.payload.reason, requeued.payload.attempt], ['worker-lost', 1]);
      await startWorker(['--task', `hang=${NODE} -e "0"`]);
      const done = await untilStatus(runId, 'completed');
      assert.equal(done!.attempt, 2);
    },
  );

  await t.test(
    'Ctrl-C stops its runs (they end stopped), exits 130 and leaves no process behind',
    async () => {
      const stopping = await startWorker(['--task', hang('interrupted')]);
      const runId = (await enqueue(['interrupted'])).stdout.trim();
      await untilStatus(runId, 'running');
      const pid = await commandPid(runId);
      stopping.proc.kill('SIGINT');
      const result = await stopping.exited;
      assert.equal(result.code, 130, result.stderr);
      assert.equal((await storedRun(url, runId)).status, 'stopped');
      assert.equal(alive(pid), false);
    },
  );

  await t.test(
    'a closed terminal (SIGHUP) stops its runs, exits 129 and leaves no process behind',
    async () => {
      const hungUp = await startWorker(['--task', hang('hung-up')]);
      const runId = (await enqueue(['hung-up'])).stdout.trim();
      await untilStatus(runId, 'running');
      const pid = await commandPid(runId);
      hungUp.proc.kill('SIGHUP');
      const result = await hungUp.exited;
      assert.equal(result.code, 129, result.stderr);
      assert.equal((await storedRun(url, runId)).status, 'stopped');
      assert.equal(alive(pid), false);
    },
  );

  await t.test('a second Ctrl-C kills at once', async () => {
    const stubborn = await startWorker([
      '--grace',
      '60s',
      '--task',
      `stubborn=${NODE} -e "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"`,
    ]);
    const runId = (await enqueue(['stubborn'])).stdout.trim();
    const pid = await commandPid(runId);
    stubborn.proc.kill('SIGINT');
    await stubborn.waitFor(
      (_, stderr) => stderr.includes('taking no more work'),
      'the first SIGINT',
    );
    stubborn.proc.kill('SIGINT');
    const result = await stubborn.exited;
    assert.equal(result.code, 130, result.stderr);
    await waitFor('the command to be killed', () => !alive(pid));
  });

  await t.test(
    'a worker that loses the server keeps its command running, reconnects and keeps its claim',
    async () => {
      const dataDir = tempDir();
      let own = await startServer({ dataDir });
      t.after(async () => {
        await own.stop();
        rmSync(dataDir, { recursive: true, force: true });
      });
      const flag = join(dataDir, 'go');
      const waiter = `${NODE} -e "const fs = require('fs'); setInterval(() => fs.existsSync(process.argv[1]) && process.exit(0), 50)" {flag}`;
      const survivor = spawnCli(['worker', '--server', own.url, '--task', `wait=${waiter}`]);
      t.after(() => survivor.proc.kill('SIGKILL'));
      await survivor.waitFor((stdout) => stdout.includes('ready:'), 'the worker to be ready');
      const queued = await runCli([
        'enqueue',
        '--server',
        own.url,
        'wait',
        '--param',
        `flag=${flag}`,
      ]);
      const runId = queued.stdout.trim();
      const pid = await commandPid(runId, own.url);
      await own.kill();
      await survivor.waitFor(
        (_, stderr) => stderr.includes('reconnecting'),
        'the worker to lose the server',
      );
      assert.equal(alive(pid), true);
      own = await startServer({ dataDir, port: own.port });
      await survivor.waitFor((stdout) => stdout.includes('back on'), 'the worker to reconnect');
      writeFileSync(flag, '');
      const done = await untilStatus(runId, 'completed', own.url);
      assert.equal(done!.attempt, 1);
      assert.ok(existsSync(flag));
    },
  );
});
