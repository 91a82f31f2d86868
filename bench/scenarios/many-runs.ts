// A store of 100,000 runs (10 events each, from fill workers): cold start to "listening" and RSS,
// list and search latency against the store budget, then RSS after reading one event from each
// of 10,000 runs (open files and loaded indexes are bounded, least recently used first).
import { performance } from 'node:perf_hooks';
import { BUDGETS } from '../budgets.ts';
import { benchTempDir } from '../harness/children.ts';
import { http, json } from '../harness/control-http.ts';
import { bytes, fmt, ms } from '../harness/format.ts';
import { failuresOf } from '../harness/ingest-window.ts';
import { median } from '../harness/latency.ts';
import type { LoadJob, LoadReport } from '../harness/load-worker.ts';
import { rssBytes } from '../harness/proc-stats.ts';
import { passFail } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { startOurs, withServer } from '../harness/servers.ts';
import { LOAD_WORKER, Worker } from '../harness/workers.ts';
import { runApiPath } from '../../shared/run-url.ts';

const RUNS = 100_000;
const EVENTS_PER_RUN = 10;
const FILL_PROCESSES = 2;
const FILL_CONNECTIONS = 8;
const FILL_TIMEOUT_MS = 600_000;
/** Runs read one event from after the cold start, to see RSS stay bounded. */
const TOUCHED_RUNS = 10_000;
const TOUCH_CONCURRENCY = 8;
const QUERIES = 20;

export const title = `store of ${fmt(RUNS)} runs`;

const runId = (i: number) => `many-${String(i).padStart(6, '0')}`;

export async function run({ report }: Bench): Promise<void> {
  const dataDir = benchTempDir('many-runs');
  const runIds = Array.from({ length: RUNS }, (_, i) => runId(i));
  const fillMs = await fill(dataDir, runIds);
  console.log(`  filled ${fmt(RUNS)} runs × ${EVENTS_PER_RUN} events in ${ms(fillMs)}`);

  const cold = await startOurs(dataDir);
  await withServer(report, cold, 'cold-started server (many runs)', async () => {
    const rssAtListen = rssBytes(cold.pid);
    const list: number[] = [];
    const search: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const page = await http('GET', `${cold.url}/api/runs?limit=100`);
      if (page.status !== 200) throw new Error(`list answered ${page.status}`);
      list.push(page.ms);
      // A title that matches one run near the oldest end: the whole list is scanned.
      const q = runId(RUNS - 1 - i * 97).slice(-6);
      const found = await http('GET', `${cold.url}/api/runs?q=${q}&limit=100`);
      if (found.status !== 200) throw new Error(`search answered ${found.status}`);
      search.push(found.ms);
    }
    const touchStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: TOUCH_CONCURRENCY }, async () => {
        while (next < TOUCHED_RUNS) {
          const id = runIds[Math.floor((next++ * RUNS) / TOUCHED_RUNS)]!;
          const events = await json<unknown[]>(
            'GET',
            `${cold.url}${runApiPath(id, '/events?limit=1')}`,
          );
          if (events.length !== 1) throw new Error(`${id}: ${events.length} events`);
        }
      }),
    );
    const touchMs = performance.now() - touchStarted;
    const rssAfter = rssBytes(cold.pid);
    console.log(
      `  cold start ${ms(cold.startMs)}, RSS ${bytes(rssAtListen)}; list p50 ${ms(median(list))}, ` +
        `search p50 ${ms(median(search))}; one event from each of ${fmt(TOUCHED_RUNS)} runs in ` +
        `${ms(touchMs)}, RSS then ${bytes(rssAfter)}`,
    );
    const budget = BUDGETS.store;
    report.results.manyRuns = {
      runs: RUNS,
      fillMs,
      startMs: cold.startMs,
      rssAtListen,
      listMs: median(list),
      searchMs: median(search),
      touchMs,
      rssAfter,
    };
    report.row(
      `cold start, ${fmt(RUNS)} runs`,
      ms(cold.startMs),
      `≤ ${fmt(budget.coldStartMs)} ms`,
      passFail(cold.startMs <= budget.coldStartMs),
    );
    report.row(
      `RSS at start / after reading ${fmt(TOUCHED_RUNS)} runs`,
      `${bytes(rssAtListen)} / ${bytes(rssAfter)}`,
      `≤ ${budget.rssMb} MB`,
      passFail(Math.max(rssAtListen, rssAfter) <= budget.rssMb * 1024 * 1024),
    );
    report.row(
      `list newest 100 of ${fmt(RUNS)} (median)`,
      ms(median(list)),
      `≤ ${budget.listMs} ms`,
      passFail(median(list) <= budget.listMs),
    );
    report.row(
      `search ${fmt(RUNS)} runs (median)`,
      ms(median(search)),
      `≤ ${budget.listMs} ms`,
      passFail(median(search) <= budget.listMs),
    );
  });
}

/** Fills the store from FILL_PROCESSES workers (each run made by its first batch), then stops. */
async function fill(dataDir: string, runIds: string[]): Promise<number> {
  const server = await startOurs(dataDir);
  try {
    const workers = await Worker.start(LOAD_WORKER, FILL_PROCESSES);
    const started = performance.now();
    workers.forEach((worker, w) => {
      const job: LoadJob = {
        mode: 'fill',
        url: server.url,
        runIds: runIds.filter((_, i) => i % FILL_PROCESSES === w),
        connections: FILL_CONNECTIONS,
        batchSize: EVENTS_PER_RUN,
        batchesPerRun: 1,
      };
      worker.send(job);
    });
    const reports = await Promise.all(
      workers.map(
        async (w) => (await w.next<{ report: LoadReport }>('report', FILL_TIMEOUT_MS)).report,
      ),
    );
    const failed = reports.reduce((sum, r) => sum + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} fill requests failed: ${failuresOf(reports)}`);
    return performance.now() - started;
  } finally {
    await server.stop();
  }
}
