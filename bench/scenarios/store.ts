// The store budget at its real size: 10,000,000 events in 100,000 runs, shaped as
// harness/store-shape.ts describes (most runs small, 4 of 1,000,000 events), written by the
// server's own store code (server/store.ts) in a fill process, as the HTTP routes call it once a
// request is validated, and closed as the server closes it on SIGTERM (see
// harness/store-fill-worker.ts; through HTTP the fill takes this machine over two minutes). On
// that store, with the server (dist/agent-ops.js serve, or BENCH_CLI's build):
// - cold start, COLD_STARTS times: spawn to "listening", spawn to the first GET /api/runs answer,
//   and RSS at listening; once more after a kill -9, when every run's files are checked (report
//   only);
// - list, a status filter and a search (?q= as docs/protocol.md defines it: text in title, id or
//   metadata; here one run's commit, from near the oldest end, so the whole list is scanned);
// - the first page of a 1,000,000-event run, its first touch (report only);
// - RSS while one event is read from each of the 100,000 runs, and after: bounded means no more
//   than the budget's RSS at start, whatever was touched.
// "Cold" is the process: the files are still in the OS page cache. The data dir (~2.5 GB) is in
// os.tmpdir() and removed when the scenario ends.
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { BUDGETS } from '../budgets.ts';
import { benchTempDir } from '../harness/children.ts';
import { http, json } from '../harness/control-http.ts';
import { bytes, fmt, ms } from '../harness/format.ts';
import { median } from '../harness/latency.ts';
import { rssBytes } from '../harness/proc-stats.ts';
import { passFail, type Report } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { startOurs, withServer, type BenchServer } from '../harness/servers.ts';
import type { StoreFillJob, StoreFillReport } from '../harness/store-fill-worker.ts';
import {
  HUGE_RUN_EVENTS,
  STORE_EVENTS,
  STORE_RUNS,
  commitOf,
  runShape,
  storeRunId,
} from '../harness/store-shape.ts';
import { STORE_FILL_WORKER, Worker } from '../harness/workers.ts';
import { runApiPath } from '../../shared/run-url.ts';
import type { Health } from '../../shared/types.ts';

/** Runs filled at once, and events per append: what concurrent batch requests would bring. */
const FILL_CONCURRENCY = 8;
const BATCH_SIZE = 1000;
const FILL_TIMEOUT_MS = 600_000;
const COLD_STARTS = 3;
const QUERIES = 20;
const LIST_LIMIT = 100;
const FIRST_PAGE = 500;
const TOUCH_CONNECTIONS = 4;
const RSS_SAMPLE_MS = 100;
const MB = 1024 * 1024;

export const title = `store of ${fmt(STORE_EVENTS)} events in ${fmt(STORE_RUNS)} runs`;

interface ColdStart {
  listeningMs: number;
  firstListMs: number;
  rssAtListen: number;
}

export async function run({ report }: Bench): Promise<void> {
  const dataDir = benchTempDir('store');
  try {
    await measure(report, dataDir);
  } finally {
    // ~2.5 GB: gone as soon as the scenario is, not at the end of the whole bench.
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measure(report: Report, dataDir: string): Promise<void> {
  const fill = await fillStore(dataDir);
  const budget = BUDGETS.store;
  report.row(
    `fill: ${fmt(STORE_RUNS)} runs, ${fmt(STORE_EVENTS)} events by the store in-process`,
    `${ms(fill.fillMs)} (${fmt(STORE_EVENTS / (fill.fillMs / 1000))} ev/s); close ${ms(fill.closeMs)}`,
    'report only',
  );

  const starts: ColdStart[] = [];
  let measured: Measured | undefined;
  for (let i = 0; i < COLD_STARTS; i++) {
    const spawned = performance.now();
    const cold = await startOurs(dataDir);
    const start = await withServer(report, cold, 'cold-started server', async () => {
      const rssAtListen = rssBytes(cold.pid);
      const first = await http('GET', `${cold.url}/api/runs?limit=${LIST_LIMIT}`);
      if (first.status !== 200) throw new Error(`GET /api/runs answered ${first.status}`);
      const start = {
        listeningMs: cold.startMs,
        firstListMs: performance.now() - spawned,
        rssAtListen,
      };
      if (i === 0) await checkStore(cold.url);
      // The last start goes on to the reads: by then the page cache holds what a start reads.
      if (i === COLD_STARTS - 1) measured = await measureReads(cold);
      return start;
    });
    starts.push(start);
    console.log(
      `  cold start ${i + 1}: listening after ${ms(start.listeningMs)}, first /api/runs answer ` +
        `after ${ms(start.firstListMs)}, RSS ${bytes(start.rssAtListen)}`,
    );
  }
  const afterCrashMs = await startAfterCrash(report, dataDir);
  const listeningMs = median(starts.map((s) => s.listeningMs));
  const firstListMs = median(starts.map((s) => s.firstListMs));
  const rssAtStart = Math.max(...starts.map((s) => s.rssAtListen));
  const m = measured!;
  report.results.store = {
    events: STORE_EVENTS,
    runs: STORE_RUNS,
    fill,
    starts,
    afterCrashMs,
    ...m,
  };

  report.row(
    'cold start: spawn → listening (median)',
    ms(listeningMs),
    `≤ ${fmt(budget.coldStartMs)} ms`,
    passFail(listeningMs <= budget.coldStartMs),
  );
  report.row(
    'cold start: spawn → first /api/runs answer (median)',
    ms(firstListMs),
    `≤ ${fmt(budget.coldStartMs)} ms`,
    passFail(firstListMs <= budget.coldStartMs),
  );
  report.row(
    'cold start after kill -9: spawn → listening (every run checked)',
    ms(afterCrashMs),
    'report only',
  );
  report.row(
    'server RSS at start (max)',
    bytes(rssAtStart),
    `≤ ${budget.rssMb} MB`,
    passFail(rssAtStart <= budget.rssMb * MB),
  );
  report.row(
    `server RSS after touching every run (peak while touching)`,
    `${bytes(m.touch.rssAfter)} (${bytes(m.touch.peakRss)})`,
    `≤ ${budget.rssMb} MB`,
    passFail(m.touch.rssAfter <= budget.rssMb * MB),
  );
  for (const [metric, value] of [
    [`list: newest ${LIST_LIMIT} (median)`, m.listMs],
    [`list: ?status=error (median)`, m.statusMs],
    [`search: ?q=<one old run's commit> (median)`, m.searchMs],
  ] as const) {
    report.row(metric, ms(value), `≤ ${budget.listMs} ms`, passFail(value <= budget.listMs));
  }
  report.row(
    `first page of a ${fmt(HUGE_RUN_EVENTS)}-event run (first touch / again)`,
    `${ms(m.hugeFirstPageMs)} / ${ms(m.hugeAgainMs)}`,
    'report only',
  );
  report.row(
    `one event from each of ${fmt(STORE_RUNS)} runs`,
    `${ms(m.touch.ms)} (${fmt(STORE_RUNS / (m.touch.ms / 1000))} runs/s)`,
    'report only',
  );
}

/** Fills the store in a fill process (harness/store-fill-worker.ts), which closes it when done. */
async function fillStore(dataDir: string): Promise<StoreFillReport> {
  const [worker] = await Worker.start(STORE_FILL_WORKER, 1);
  const job: StoreFillJob = { dataDir, concurrency: FILL_CONCURRENCY, batchSize: BATCH_SIZE };
  worker!.send(job);
  const { report } = await worker!.next<{ report: StoreFillReport }>('report', FILL_TIMEOUT_MS);
  if (report.refused > 0) {
    throw new Error(`${report.refused} events refused: ${report.firstErrors.join('; ')}`);
  }
  console.log(
    `  filled ${fmt(report.runs)} runs, ${fmt(report.events)} events in ${ms(report.fillMs)}, ` +
      `closed in ${ms(report.closeMs)}`,
  );
  return report;
}

/**
 * A start after a crash: a server killed with SIGKILL leaves no mark of a clean stop, so the next
 * start checks every run's active segment. That server is stopped cleanly.
 */
async function startAfterCrash(report: Report, dataDir: string): Promise<number> {
  const crashed = await startOurs(dataDir);
  process.kill(crashed.pid, 'SIGKILL');
  await crashed.stop().catch(() => {});
  const server = await startOurs(dataDir);
  await withServer(report, server, 'server started after kill -9', () => checkStore(server.url));
  console.log(`  after kill -9: listening after ${ms(server.startMs)}`);
  return server.startMs;
}

/** The store holds every run and event the fill made. */
async function checkStore(base: string): Promise<void> {
  const { store } = await json<Health>('GET', `${base}/health`);
  if (store.runs !== STORE_RUNS || store.events !== STORE_EVENTS) {
    throw new Error(
      `store holds ${fmt(store.events)} events in ${fmt(store.runs)} runs; ` +
        `expected ${fmt(STORE_EVENTS)} in ${fmt(STORE_RUNS)}`,
    );
  }
}

interface Measured {
  listMs: number;
  statusMs: number;
  searchMs: number;
  hugeFirstPageMs: number;
  hugeAgainMs: number;
  touch: { ms: number; peakRss: number; rssAfter: number };
}

async function measureReads(server: BenchServer): Promise<Measured> {
  await checkStore(server.url);
  const list: number[] = [];
  const status: number[] = [];
  const search: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    list.push(await timedList(server.url, `limit=${LIST_LIMIT}`, LIST_LIMIT));
    status.push(await timedList(server.url, `status=error&limit=${LIST_LIMIT}`, LIST_LIMIT));
    // One run's commit, from the oldest thousand: the search scans nearly every run to find it.
    search.push(await timedList(server.url, `q=${commitOf(i * 37)}&limit=${LIST_LIMIT}`, 1));
  }
  const huge = Array.from({ length: STORE_RUNS }, (_, i) => i).find(
    (i) => runShape(i).events === HUGE_RUN_EVENTS,
  )!;
  const hugePage = `${server.url}${runApiPath(storeRunId(huge), `/events?limit=${FIRST_PAGE}`)}`;
  const first = await http('GET', hugePage);
  const again = await http('GET', hugePage);
  if (first.status !== 200 || (JSON.parse(first.text) as unknown[]).length !== FIRST_PAGE)
    throw new Error(`first page of ${storeRunId(huge)}: HTTP ${first.status}`);
  return {
    listMs: median(list),
    statusMs: median(status),
    searchMs: median(search),
    hugeFirstPageMs: first.ms,
    hugeAgainMs: again.ms,
    touch: await touchEveryRun(server),
  };
}

/** GET /api/runs?`query` answered 200 with at least `atLeast` runs; its time, ms. */
async function timedList(base: string, query: string, atLeast: number): Promise<number> {
  const answer = await http('GET', `${base}/api/runs?${query}`);
  const found = answer.status === 200 ? (JSON.parse(answer.text) as unknown[]).length : -1;
  if (found < atLeast)
    throw new Error(`GET /api/runs?${query}: HTTP ${answer.status}, ${found} runs`);
  return answer.ms;
}

/** Reads the first event of every run, RSS sampled meanwhile. */
async function touchEveryRun(server: BenchServer) {
  const agent = new Agent({ keepAlive: true, maxSockets: TOUCH_CONNECTIONS });
  let peakRss = rssBytes(server.pid);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssBytes(server.pid));
  }, RSS_SAMPLE_MS);
  const started = performance.now();
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: TOUCH_CONNECTIONS }, async () => {
        while (next < STORE_RUNS) {
          const id = storeRunId(next++);
          const text = await get(agent, `${server.url}${runApiPath(id, '/events?limit=1')}`);
          const events = JSON.parse(text) as Array<{ seq: number }>;
          if (events.length !== 1 || events[0]!.seq !== 1)
            throw new Error(`${id}: expected its first event; got ${text.slice(0, 200)}`);
        }
      }),
    );
  } finally {
    clearInterval(sampler);
    agent.destroy();
  }
  const touchMs = performance.now() - started;
  const rssAfter = rssBytes(server.pid);
  console.log(
    `  one event from each of ${fmt(STORE_RUNS)} runs in ${ms(touchMs)}; RSS peak ` +
      `${bytes(Math.max(peakRss, rssAfter))}, after ${bytes(rssAfter)}`,
  );
  return { ms: touchMs, peakRss: Math.max(peakRss, rssAfter), rssAfter };
}

/** A keep-alive GET's body; anything but 200 throws. */
function get(agent: Agent, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(text)
          : reject(new Error(`GET ${url} answered ${res.statusCode}: ${text.slice(0, 200)}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
