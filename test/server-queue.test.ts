// Black-box specification of the work queue on the server: queued runs, worker announcements, the
// claims stream (pushed, oldest first, atomic, within concurrency), stopping queued runs, lost
// workers (requeue, then worker-lost), worker changes on /api/stream, and restarts.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { AgentEvent, ClaimMessage, Run, RunChange, WorkerInfo } from '../shared/types.ts';
import { storedEvents, storedRun } from './helpers/cli.ts';
import { api, openSse, type SseClient } from './helpers/http.ts';
import { serverFor, startServer, tempDir } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

interface RawWorker {
  id: string;
  stream: SseClient;
  /** The next `count` claimed runs. */
  claims(count: number): Promise<Run[]>;
  close(): void;
}

test('work queue', async (t) => {
  const patient = await serverFor(t);
  const quick = await serverFor(t, { args: ['--lost-after', '300ms'] });
  let counter = 0;

  const enqueue = async (url: string, body: object): Promise<Run> => {
    const res = await api<Run>(url, '/api/runs', { body: { id: `q-${++counter}`, ...body } });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  const connect = async (
    url: string,
    tasks: string[],
    concurrency = 1,
    id = `w-${++counter}`,
  ): Promise<RawWorker> => {
    const announced = await api<WorkerInfo>(url, '/api/workers', {
      body: {
        id,
        name: id,
        host: 'test',
        pid: 1,
        concurrency,
        tasks: tasks.map((name) => ({ name, params: [] })),
      },
    });
    assert.ok(announced.status === 201 || announced.status === 200, announced.text);
    const stream = await openSse(`${url}/api/workers/${id}/claims`);
    assert.equal(stream.status, 200);
    t.after(() => stream.close());
    return {
      id,
      stream,
      claims: async (count) =>
        (await stream.take(count)).map((m) => (JSON.parse(m.data) as ClaimMessage).run),
      close: () => stream.close(),
    };
  };
  const finish = (url: string, runId: string) =>
    api(url, `/api/runs/${runId}/events`, { body: { type: 'run.completed' } });
  const workerOf = async (url: string, id: string) =>
    (await api<WorkerInfo[]>(url, '/api/workers')).body.find((w) => w.id === id)!;

  await t.test('bad queue input is refused, naming the field', async () => {
    const cases: Array<[object, RegExp]> = [
      [
        { task: 'has space' },
        /^task must be a task name \(letters, digits, \. _ -, at most 64\); got "has space"$/,
      ],
      [
        { task: 't', status: 'running' },
        /^a run with a task is queued; status must be "queued" or absent; got "running"$/,
      ],
      [{ task: 't', input: [1] }, /^input must be a JSON object; got \[1\]$/],
      [
        { task: 't', input: { a: { b: 1 } } },
        /^input\.a must be a string, number or boolean \(it fills one argument\); got \{"b":1\}$/,
      ],
      [{ task: 't', maxAttempts: 0 }, /^maxAttempts must be an integer from 1 to 10; got 0$/],
      [{ task: 't', maxAttempts: 11 }, /^maxAttempts must be an integer from 1 to 10; got 11$/],
      [{ task: 't', maxAttempts: 1.5 }, /^maxAttempts must be an integer from 1 to 10; got 1\.5$/],
      [{ input: { a: 1 } }, /^input is for queued work and needs a task; got no task$/],
      [{ maxAttempts: 2 }, /^maxAttempts is for queued work and needs a task; got no task$/],
    ];
    for (const [body, error] of cases) {
      const res = await api(patient.url, '/api/runs', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error, error);
    }
  });

  await t.test('a queued run records its task, input, queuedAt and attempts', async () => {
    const run = await enqueue(patient.url, { task: 'build', input: { ref: 'main', n: 2 } });
    assert.equal(run.status, 'queued');
    assert.equal(run.task, 'build');
    assert.deepEqual(run.input, { ref: 'main', n: 2 });
    assert.ok(run.queuedAt);
    assert.equal(run.attempt, 0);
    assert.equal(run.maxAttempts, 1);
    assert.equal(run.worker, undefined);
  });

  await t.test('bad worker announcements are refused, naming the field', async () => {
    const good = { name: 'w', host: 'h', pid: 1, concurrency: 1, tasks: [] };
    const cases: Array<[object, RegExp]> = [
      [{ ...good, concurrency: 0 }, /^concurrency must be an integer from 1 to 1000; got 0$/],
      [
        { ...good, tasks: [{ name: 'bad name', params: [] }] },
        /^tasks\[0\]\.name must be a task name/,
      ],
      [
        { ...good, tasks: [{ name: 't', params: [{ name: '1x' }] }] },
        /^tasks\[0\]\.params\[0\] must be/,
      ],
      [{ ...good, extra: 1 }, /^worker has an unknown field "extra"/],
    ];
    for (const [body, error] of cases) {
      const res = await api(patient.url, '/api/workers', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error, error);
    }
    const unknown = await api(patient.url, '/api/workers/nobody/claims');
    assert.equal(unknown.status, 404);
  });

  await t.test('claims are pushed oldest first and never past the concurrency', async () => {
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await enqueue(patient.url, { task: 'order' }));
    const other = await enqueue(patient.url, { task: 'nobody-offers-this' });
    const worker = await connect(patient.url, ['order'], 2);
    const first = await worker.claims(2);
    assert.deepEqual(
      first.map((r) => r.id),
      [runs[0]!.id, runs[1]!.id],
    );
    assert.equal(first[0]!.status, 'running');
    assert.deepEqual(first[0]!.worker, { id: worker.id, name: worker.id });
    assert.equal(first[0]!.attempt, 1);
    const listed = await workerOf(patient.url, worker.id);
    assert.equal(listed.state, 'busy');
    assert.deepEqual(listed.running.sort(), [runs[0]!.id, runs[1]!.id].sort());
    // Full: the third run waits until a slot frees up.
    assert.equal((await storedRun(patient.url, runs[2]!.id)).status, 'queued');
    await finish(patient.url, runs[0]!.id);
    const [third] = await worker.claims(1);
    assert.equal(third!.id, runs[2]!.id);
    assert.equal((await storedRun(patient.url, runs[3]!.id)).status, 'queued');
    assert.equal((await storedRun(patient.url, other.id)).status, 'queued');
    const events = await storedEvents(patient.url, third!.id);
    assert.equal(events[0].type, 'run.claimed');
    assert.equal(events[0].payload.attempt, 1);
  });

  await t.test('any number of racing workers: each run is claimed exactly once', async () => {
    const workers = await Promise.all(
      Array.from({ length: 8 }, () => connect(patient.url, ['race'], 3)),
    );
    const total = 60;
    const seen = new Map<string, string>();
    const doubles: string[] = [];
    const drained = Promise.all(
      workers.map(async (worker) => {
        for (;;) {
          if (seen.size >= total) return;
          const [run] = await Promise.race([
            worker.claims(1),
            waitFor('all runs claimed', () => seen.size >= total).then(() => []),
          ]);
          if (!run) return;
          if (seen.has(run.id)) doubles.push(run.id);
          seen.set(run.id, worker.id);
          await finish(patient.url, run.id);
        }
      }),
    );
    await Promise.all(Array.from({ length: total }, () => enqueue(patient.url, { task: 'race' })));
    await drained;
    assert.deepEqual(doubles, []);
    assert.equal(seen.size, total);
    for (const runId of [...seen.keys()].slice(0, 10)) {
      const claimed = (await storedEvents(patient.url, runId)).filter(
        (e: AgentEvent) => e.type === 'run.claimed',
      );
      assert.equal(claimed.length, 1, runId);
    }
  });

  await t.test('a stopped queued run ends stopped and no worker ever gets it', async () => {
    const stopped = await enqueue(patient.url, { task: 'stoppable' });
    const res = await api<Run>(patient.url, `/api/runs/${stopped.id}/stop`, { method: 'POST' });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.status, 'stopped');
    const later = await enqueue(patient.url, { task: 'stoppable' });
    const worker = await connect(patient.url, ['stoppable'], 2);
    const [claim] = await worker.claims(1);
    assert.equal(claim!.id, later.id);
    assert.equal((await storedRun(patient.url, stopped.id)).status, 'stopped');
    assert.deepEqual((await workerOf(patient.url, worker.id)).running, [later.id]);
  });

  await t.test('a worker back within --lost-after keeps its claims', async () => {
    const run = await enqueue(patient.url, { task: 'keep' });
    const worker = await connect(patient.url, ['keep']);
    await worker.claims(1);
    worker.close();
    await waitFor('the worker to be gone', async () => {
      return (await workerOf(patient.url, worker.id)).state === 'gone';
    });
    const again = await connect(patient.url, ['keep'], 1, worker.id);
    const [claim] = await again.claims(1);
    assert.equal(claim!.id, run.id);
    const current = await storedRun(patient.url, run.id);
    assert.equal(current.status, 'running');
    assert.equal(current.worker.id, worker.id);
  });

  await t.test(
    'a lost worker: its run is requeued while attempts remain, then worker-lost',
    async () => {
      const run = await enqueue(quick.url, { task: 'fragile', maxAttempts: 2 });
      const first = await connect(quick.url, ['fragile']);
      await first.claims(1);
      first.close();
      const requeued = await waitFor('the run to be requeued', async () => {
        const current = await storedRun(quick.url, run.id);
        return current.status === 'queued' ? current : undefined;
      });
      assert.equal(requeued.worker, undefined);
      assert.equal(requeued.attempt, 1);
      const event = (await storedEvents(quick.url, run.id)).find((e) => e.type === 'run.requeued');
      assert.equal(event.payload.reason, 'worker-lost');
      assert.equal(event.payload.attempt, 1);

      const second = await connect(quick.url, ['fragile']);
      const [claim] = await second.claims(1);
      assert.equal(claim!.id, run.id);
      assert.equal(claim!.attempt, 2);
      second.close();
      const lost = await waitFor('the run to end worker-lost', async () => {
        const current = await storedRun(quick.url, run.id);
        return current.status === 'error' ? current : undefined;
      });
      assert.match(lost.errorMessage, /^worker lost: worker w-\d+ \(w-\d+\) was gone for 0\.3 s$/);
      const last = (await storedEvents(quick.url, run.id)).at(-1);
      assert.equal(last.payload.reason, 'worker-lost');
      assert.equal(last.payload.by, 'server');
    },
  );

  await t.test(
    "a requeued run's pending approvals are closed, named in run.requeued, and cannot be decided",
    async () => {
      const run = await enqueue(quick.url, { task: 'asking', maxAttempts: 2 });
      const first = await connect(quick.url, ['asking']);
      await first.claims(1);
      for (const approvalId of ['deploy', 'delete'])
        assert.equal(
          (
            await api(quick.url, `/api/runs/${run.id}/events`, {
              body: { type: 'approval.requested', payload: { approvalId, title: approvalId } },
            })
          ).status,
          201,
        );
      first.close();
      await waitFor('the run to be requeued', async () => {
        return (await storedRun(quick.url, run.id)).status === 'queued';
      });
      const event = (await storedEvents(quick.url, run.id)).find((e) => e.type === 'run.requeued');
      assert.deepEqual(event.payload.closedApprovals, ['deploy', 'delete']);
      assert.match(event.payload.message, /2 pending approvals closed/);
      const listed = await api<unknown[]>(quick.url, `/api/approvals?runId=${run.id}`);
      assert.deepEqual(listed.body, []);
      const late = await api(quick.url, `/api/runs/${run.id}/approvals/deploy`, {
        body: { decision: 'approve' },
      });
      assert.equal(late.status, 409, late.text);
      assert.match(late.body.error, /closed undecided: the run was requeued/);
    },
  );

  await t.test('worker changes appear on /api/stream', async () => {
    const stream = await openSse(`${patient.url}/api/stream`);
    t.after(() => stream.close());
    const worker = await connect(patient.url, ['streamed'], 3);
    const change = await waitFor('a worker change', async () => {
      const [message] = await stream.take(1);
      const parsed = JSON.parse(message!.data) as RunChange;
      return parsed.kind === 'worker' && parsed.worker.id === worker.id ? parsed : undefined;
    });
    assert.equal(change!.worker.concurrency, 3);
    assert.deepEqual(change!.worker.tasks, [{ name: 'streamed', params: [] }]);
  });

  await t.test(
    'queued runs survive a restart in order; a claim made before a kill -9 stays made',
    async () => {
      const dataDir = tempDir();
      let server = await startServer({ dataDir });
      t.after(async () => {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      });
      const runs = [];
      for (let i = 0; i < 4; i++) runs.push(await enqueue(server.url, { task: 'durable' }));
      const before = await connect(server.url, ['durable'], 1, 'w-before');
      const [claimed] = await before.claims(1);
      assert.equal(claimed!.id, runs[0]!.id);
      await server.kill();

      server = await startServer({ dataDir });
      const after = await storedRun(server.url, runs[0]!.id);
      assert.equal(after.status, 'running');
      assert.equal(after.worker.id, 'w-before');
      const fresh = await connect(server.url, ['durable'], 3);
      const claims = await fresh.claims(3);
      assert.deepEqual(
        claims.map((r) => r.id),
        runs.slice(1).map((r) => r.id),
      );
      // The worker that held the claim comes back under its id and is handed it again.
      const back = await connect(server.url, ['durable'], 1, 'w-before');
      const [kept] = await back.claims(1);
      assert.equal(kept!.id, runs[0]!.id);
    },
  );
});
