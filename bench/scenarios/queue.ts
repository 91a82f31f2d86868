// The work queue: how soon a queued run is claimed by an idle worker (p50 / p99), 1,000 simulated
// runs drained by 4 worker processes × concurrency 8 (runs/s, and none claimed twice, lost or
// stuck), and what 500 idle connected workers cost the server (RSS, CPU).
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SseParser } from '../../shared/sse.ts';
import type { AgentEvent, Run, RunChange } from '../../shared/types.ts';
import { BUDGETS } from '../budgets.ts';
import { benchTempDir, track } from '../harness/children.ts';
import { json } from '../harness/control-http.ts';
import { bytes, fmt, ms } from '../harness/format.ts';
import { addToHistogram, latencyOf } from '../harness/latency.ts';
import {
  cpuMark,
  noiseNote,
  otherCoresSince,
  processCpuMs,
  rssBytes,
} from '../harness/proc-stats.ts';
import { passFail } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { BENCH_CLI, startOurs, withServer } from '../harness/servers.ts';

export const title = 'Queue';

const LATENCY_RUNS = 200;
const DRAIN_RUNS = 1000;
const DRAIN_WORKERS = 4;
const DRAIN_CONCURRENCY = 8;
const IDLE_WORKERS = 500;
const IDLE_WINDOW_MS = 5000;
const DRAIN_TIMEOUT_MS = 300_000;
const ENQUEUE_PARALLEL = 50;
const TERMINAL = new Set(['completed', 'error', 'stopped']);

/** The run-list stream, with a waiter per run for the status it should reach. */
function watchRuns(url: string): {
  until(id: string, statuses: string[]): Promise<number>;
  close(): void;
} {
  const waiters = new Map<string, { statuses: string[]; resolve(at: number): void }>();
  const reached = new Map<string, string>();
  const parser = new SseParser();
  let req: ClientRequest | undefined;
  req = request(`${url}/api/stream`, { agent: false }, (res) => {
    res.setEncoding('utf8').on('data', (chunk: string) => {
      const at = performance.now();
      for (const message of parser.push(chunk)) {
        const change = JSON.parse(message.data) as RunChange;
        if (change.kind !== 'run') continue;
        reached.set(change.run.id, change.run.status);
        const waiter = waiters.get(change.run.id);
        if (waiter?.statuses.includes(change.run.status)) {
          waiters.delete(change.run.id);
          waiter.resolve(at);
        }
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return {
    until: (id, statuses) =>
      new Promise((resolve) => {
        if (statuses.includes(reached.get(id) ?? '')) return resolve(performance.now());
        waiters.set(id, { statuses, resolve });
      }),
    close: () => req?.destroy(),
  };
}

/** A worker process of the CLI under test; resolves once it says it is ready. */
async function startWorker(url: string, args: string[]): Promise<ChildProcess> {
  const child = track(
    spawn(process.execPath, [BENCH_CLI, 'worker', '--server', url, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    }),
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('ready:')) resolve();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${output.slice(-500)}`)));
  });
  child.stdout!.resume();
  return child;
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.exitCode !== null) return resolve();
          worker.once('exit', () => resolve());
          worker.kill('SIGINT');
        }),
    ),
  );
}

export async function run({ report }: Bench): Promise<void> {
  const budget = BUDGETS.queue;
  const results: Record<string, unknown> = {};
  report.results.queue = results;

  // 1. queued → running with an idle worker, one run at a time.
  {
    const server = await startOurs(benchTempDir('queue-latency'));
    await withServer(report, server, 'queue latency', async () => {
      const worker = await startWorker(server.url, ['--simulate']);
      const watch = watchRuns(server.url);
      await sleep(200); // the stream is open before the first run is queued
      const histogram = new Map<number, number>();
      try {
        for (let i = 0; i < LATENCY_RUNS; i++) {
          const started = performance.now();
          const run = await json<Run>('POST', `${server.url}/api/runs`, {
            task: 'simulate',
            input: { steps: 1, interval: 0 },
          });
          const claimedAt = await watch.until(run.id, ['running', 'completed', 'error']);
          addToHistogram(histogram, claimedAt - started);
          // The worker is idle again before the next run is queued.
          await watch.until(run.id, [...TERMINAL]);
        }
      } finally {
        watch.close();
        await stopWorkers([worker]);
      }
      const latency = latencyOf([[...histogram]]);
      results.latency = latency;
      report.row(
        'queue: queued → running, idle worker (p50 / p99)',
        `${ms(latency.p50Ms)} / ${ms(latency.p99Ms)} over ${latency.count} runs`,
        'p50 ≤ 20 ms, p99 ≤ 100 ms',
        passFail(latency.p50Ms <= 20 && latency.p99Ms <= 100),
      );
    });
  }

  // 2. 1,000 simulated runs drained by 4 workers × concurrency 8.
  {
    const server = await startOurs(benchTempDir('queue-drain'));
    await withServer(report, server, 'queue drain', async () => {
      const workers = await Promise.all(
        Array.from({ length: DRAIN_WORKERS }, (_, i) =>
          startWorker(server.url, [
            '--simulate',
            '--concurrency',
            String(DRAIN_CONCURRENCY),
            '--name',
            `drain-${i}`,
          ]),
        ),
      );
      const watch = watchRuns(server.url);
      await sleep(200);
      const mark = cpuMark();
      const started = performance.now();
      const ids: string[] = [];
      const ended: Array<Promise<number>> = [];
      try {
        for (let i = 0; i < DRAIN_RUNS; i += ENQUEUE_PARALLEL) {
          const batch = await Promise.all(
            Array.from({ length: Math.min(ENQUEUE_PARALLEL, DRAIN_RUNS - i) }, () =>
              json<Run>('POST', `${server.url}/api/runs`, {
                task: 'simulate',
                input: { steps: 2, interval: 0 },
              }),
            ),
          );
          for (const run of batch) {
            ids.push(run.id);
            ended.push(watch.until(run.id, [...TERMINAL]));
          }
        }
        const all = Promise.all(ended);
        const inTime = await Promise.race([
          all.then(() => true),
          sleep(DRAIN_TIMEOUT_MS).then(() => false),
        ]);
        const elapsedS = (performance.now() - started) / 1000;
        const otherCores = otherCoresSince(mark);
        let doubles = 0;
        let notCompleted = 0;
        for (const id of ids) {
          const runNow = await json<Run>('GET', `${server.url}/api/runs/${id}`);
          if (runNow.status !== 'completed') notCompleted++;
          const events = await json<AgentEvent[]>(
            'GET',
            `${server.url}/api/runs/${id}/events?type=run.claimed`,
          );
          if (events.length !== 1 || runNow.attempt !== 1) doubles++;
        }
        const runsPerS = DRAIN_RUNS / elapsedS;
        results.drain = {
          runs: DRAIN_RUNS,
          elapsedS,
          runsPerS,
          doubles,
          notCompleted,
          inTime,
          otherCores,
        };
        if (!inTime)
          report.broken(`queue drain: runs still not ended after ${DRAIN_TIMEOUT_MS / 1000} s`);
        if (doubles > 0) report.broken(`queue drain: ${doubles} runs claimed more than once`);
        if (notCompleted > 0) report.broken(`queue drain: ${notCompleted} runs lost or stuck`);
        report.row(
          `queue: ${fmt(DRAIN_RUNS)} simulated runs, ${DRAIN_WORKERS} workers × ${DRAIN_CONCURRENCY}`,
          `${fmt(runsPerS, 1)} runs/s (${fmt(elapsedS, 1)} s); ${doubles} claimed twice, ${notCompleted} lost or stuck`,
          budget.text.split('; ')[1] ?? '',
          passFail(inTime && doubles === 0 && notCompleted === 0) + noiseNote(otherCores),
        );
      } finally {
        watch.close();
        await stopWorkers(workers);
      }
    });
  }

  // 3. 500 idle connected workers: what they cost the server.
  {
    const server = await startOurs(benchTempDir('queue-idle'));
    await withServer(report, server, 'queue idle workers', async () => {
      await sleep(500);
      const rssBefore = rssBytes(server.pid);
      const streams: ClientRequest[] = [];
      try {
        for (let i = 0; i < IDLE_WORKERS; i++) {
          const id = `idle-${i}`;
          await json('POST', `${server.url}/api/workers`, {
            id,
            name: id,
            host: 'bench',
            pid: process.pid,
            concurrency: 1,
            tasks: [{ name: `task-${i % 10}`, params: [] }],
          });
          await new Promise<void>((resolve, reject) => {
            const req = request(
              `${server.url}/api/workers/${id}/claims`,
              { agent: false },
              (res) => {
                res.resume();
                resolve();
              },
            );
            req.on('error', reject);
            req.end();
            streams.push(req);
          });
        }
        await sleep(1000);
        const cpu0 = processCpuMs(server.pid);
        const t0 = performance.now();
        await sleep(IDLE_WINDOW_MS);
        const cores = (processCpuMs(server.pid) - cpu0) / (performance.now() - t0);
        const rssAfter = rssBytes(server.pid);
        const listed = await json<unknown[]>('GET', `${server.url}/api/workers`);
        if (listed.length !== IDLE_WORKERS)
          report.broken(`queue idle: ${listed.length} workers listed, ${IDLE_WORKERS} connected`);
        results.idle = { workers: IDLE_WORKERS, rssBefore, rssAfter, cores };
        report.row(
          `queue: ${IDLE_WORKERS} idle connected workers`,
          `RSS ${bytes(rssBefore)} → ${bytes(rssAfter)} (+${bytes(rssAfter - rssBefore)}); CPU ${fmt(cores * 100, 2)}% of a core`,
        );
      } finally {
        for (const req of streams) req.destroy();
      }
    });
  }
}
