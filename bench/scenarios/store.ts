// A store of 1,000,000 events in 100 runs: the batch fill rate (two fill workers), SIGTERM to
// exit, then cold starts to "listening", RSS, and the first page of one run. "Cold" is the
// process: the files are still in the OS page cache.
import { performance } from 'node:perf_hooks';
import { BUDGETS } from '../budgets.ts';
import { benchTempDir } from '../harness/children.ts';
import { http, json, type Answer, type RunSummary } from '../harness/control-http.ts';
import { bytes, fmt, ms } from '../harness/format.ts';
import { failuresOf } from '../harness/ingest-window.ts';
import { median } from '../harness/latency.ts';
import type { LoadJob, LoadReport } from '../harness/load-worker.ts';
import { rssBytes } from '../harness/proc-stats.ts';
import { passFail, type Report } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { startOurs, withServer } from '../harness/servers.ts';
import { LOAD_WORKER, Worker } from '../harness/workers.ts';
import { runApiPath } from '../../shared/run-url.ts';

const STORE_RUNS = 100;
const STORE_EVENTS_PER_RUN = 10_000;
const TOTAL_EVENTS = STORE_RUNS * STORE_EVENTS_PER_RUN;
const BATCH_SIZE = 1000;
const FILL_PROCESSES = 2;
const FILL_CONNECTIONS = 2;
const FILL_TIMEOUT_MS = 300_000;
const COLD_STARTS = 3;
const FIRST_PAGE = 500;

export const title = `store of ${fmt(TOTAL_EVENTS)} events`;

interface ColdStart {
  startMs: number;
  rssAtListen: number;
  firstPageMs: number;
  againMs: number;
  rssAfter: number;
}

export async function run({ report }: Bench): Promise<void> {
  const dataDir = benchTempDir('store');
  const runIds = Array.from(
    { length: STORE_RUNS },
    (_, i) => `store-${String(i).padStart(3, '0')}`,
  );
  const { fill, stopMs } = await fillStore(dataDir, runIds);
  console.log(`  SIGTERM → exit: ${ms(stopMs)}`);

  const starts: ColdStart[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    // A different run each time, so each first read is that run's first touch.
    const runId = runIds[(i * 37) % runIds.length]!;
    starts.push(await coldStart(report, dataDir, runId, i === 0 ? runIds : undefined));
    const last = starts.at(-1)!;
    console.log(
      `  cold start ${i + 1}: listening after ${ms(last.startMs)}, RSS ${bytes(last.rssAtListen)}; ` +
        `first page of ${runId}: ${ms(last.firstPageMs)} (again ${ms(last.againMs)}), RSS then ${bytes(last.rssAfter)}`,
    );
  }
  const startMs = median(starts.map((s) => s.startMs));
  const rss = Math.max(...starts.map((s) => s.rssAtListen));
  const rssAfter = Math.max(...starts.map((s) => s.rssAfter));
  const firstPageMs = median(starts.map((s) => s.firstPageMs));
  report.results.store = { events: TOTAL_EVENTS, runs: STORE_RUNS, fill, stopMs, starts };
  const budget = BUDGETS.store;
  report.row(
    `batch fill of ${fmt(TOTAL_EVENTS)} events`,
    `${fmt(fill.eventsPerS)} ev/s (${ms(fill.ms)})`,
    `≥ ${fmt(BUDGETS.batch.eventsPerS)} ev/s`,
    passFail(fill.eventsPerS >= BUDGETS.batch.eventsPerS),
  );
  report.row(
    `cold start, ${fmt(TOTAL_EVENTS / 1e6)}M-event store (median)`,
    ms(startMs),
    `≤ ${fmt(budget.coldStartMs)} ms`,
    passFail(startMs <= budget.coldStartMs),
  );
  report.row(
    'server RSS after start (max)',
    `${bytes(rss)} (${bytes(rssAfter)} after a read)`,
    `≤ ${budget.rssMb} MB`,
    passFail(rss <= budget.rssMb * 1024 * 1024),
  );
  report.row(
    `first page of one ${fmt(STORE_EVENTS_PER_RUN)}-event run`,
    `${ms(firstPageMs)} (median; then ${ms(median(starts.map((s) => s.againMs)))})`,
    'report only',
  );
}

/** Fills the store from FILL_PROCESSES workers, checks it, and stops the server. */
async function fillStore(dataDir: string, runIds: string[]) {
  const server = await startOurs(dataDir);
  let fill: { ms: number; eventsPerS: number; okEvents: number };
  let stopMs = NaN;
  try {
    const workers = await Worker.start(LOAD_WORKER, FILL_PROCESSES);
    const started = performance.now();
    workers.forEach((worker, w) => {
      const job: LoadJob = {
        mode: 'fill',
        url: server.url,
        runIds: runIds.filter((_, i) => i % FILL_PROCESSES === w),
        connections: FILL_CONNECTIONS,
        batchSize: BATCH_SIZE,
        batchesPerRun: STORE_EVENTS_PER_RUN / BATCH_SIZE,
      };
      worker.send(job);
    });
    const reports = await Promise.all(
      workers.map(
        async (w) => (await w.next<{ report: LoadReport }>('report', FILL_TIMEOUT_MS)).report,
      ),
    );
    const fillMs = performance.now() - started;
    const okEvents = reports.reduce((sum, r) => sum + r.okEvents, 0);
    fill = { ms: fillMs, okEvents, eventsPerS: okEvents / (fillMs / 1000) };
    console.log(
      `  filled ${fmt(fill.okEvents)} events in ${ms(fillMs)}: ${fmt(fill.eventsPerS)} events/s`,
    );
    const failed = reports.reduce((sum, r) => sum + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} fill requests failed: ${failuresOf(reports)}`);
    await checkStore(server.url, runIds);
  } finally {
    stopMs = await server.stop();
  }
  return { fill, stopMs };
}

/** Starts a server on the filled store and reads `runId`'s first page twice. */
async function coldStart(
  report: Report,
  dataDir: string,
  runId: string,
  checkRuns: string[] | undefined,
): Promise<ColdStart> {
  const cold = await startOurs(dataDir);
  return withServer(report, cold, 'cold-started server', async () => {
    const rssAtListen = rssBytes(cold.pid);
    const path = `${cold.url}${runApiPath(runId, `/events?limit=${FIRST_PAGE}`)}`;
    const first = await http('GET', path);
    const again = await http('GET', path);
    checkFirstPage(runId, first);
    if (checkRuns) await checkStore(cold.url, checkRuns);
    return {
      startMs: cold.startMs,
      rssAtListen,
      firstPageMs: first.ms,
      againMs: again.ms,
      rssAfter: rssBytes(cold.pid),
    };
  });
}

async function checkStore(base: string, runIds: string[]): Promise<void> {
  const runs = await json<RunSummary[]>('GET', `${base}/api/runs?limit=1000`);
  const ours = new Set(runIds);
  const listed = runs.filter((r) => ours.has(r.id));
  const stored = listed.reduce((sum, r) => sum + r.eventCount, 0);
  if (listed.length !== runIds.length || stored !== TOTAL_EVENTS) {
    throw new Error(
      `store holds ${fmt(stored)} events in ${listed.length} runs; ` +
        `expected ${fmt(TOTAL_EVENTS)} in ${runIds.length}`,
    );
  }
}

function checkFirstPage(runId: string, answer: Answer): void {
  if (answer.status !== 200) throw new Error(`first page of ${runId} answered ${answer.status}`);
  const events = JSON.parse(answer.text) as { seq: number }[];
  const inOrder = events.every((event, i) => event.seq === i + 1);
  if (events.length !== FIRST_PAGE || !inOrder) {
    throw new Error(
      `first page of ${runId} holds ${events.length} events, seq in order: ${inOrder}`,
    );
  }
}
