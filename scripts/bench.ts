// `npm run bench`: measures agent-ops against its budgets (BUDGET below) in
// one run, and prints a table plus bench-results.json. Machines are noisy, so every throughput is
// set beside a baseline measured in the same run, under the same load, on the same machine.
//
// Sections:
// 1. single-event POST ingest, ours vs a bare node:http server (scripts/bench-bare-server.ts), the
//    load coming from separate processes (scripts/bench-load.ts); the servers' CPU time comes from
//    /proc/<pid>/stat, so the table says whether the baseline saturated its core. It runs twice:
//    with node:http's client, and with a lean client over node:net, because on two cores a node:http
//    load generator runs out of CPU before a bare server does and then the ratio flatters us.
//    Events per server CPU-second, ours / bare, is the figure the load generator cannot distort.
// 2. batch ingest, arrays of 1000 events.
// 3. POST → SSE delivery latency, 20 subscribers at 500 events/s, then 100 subscribers in several
//    processes (scripts/bench-subscribe.ts) at 1,000 events/s, every event accounted for.
// 4. the CLI: `--help` beside `node -e 0`, and `--steps 1000 --interval 0`.
// 5. a store of 1,000,000 events: the fill rate, cold start to "listening", RSS, the first page of
//    one run. "Cold" is the process: the files are still in the OS page cache.
// 6. bundle sizes of the CLI and the server.
// 7. the dashboard (scripts/bench-dashboard.ts): its bundle, the time to open a 100,000-event run
//    in Debian's chromium, and long tasks while 1,000 events/s stream in; skipped without chromium.
//
// It is a report: a slow machine prints FAIL in the table and still exits 0. Something broken
// (an acknowledged event missing, an error answer, a server that crashes) exits 1.
// BENCH_CLI=<path> points it at another build of dist/agent-ops.js; BENCH_MEASURE_MS shortens it.
import { execFileSync, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { benchDashboard } from './bench-dashboard.ts';
import { HIST_BUCKET_MS, type LoadJob, type LoadReport } from './bench-load.ts';
import type { SubscribeJob, SubscribeReport } from './bench-subscribe.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = process.env.BENCH_CLI ?? join(ROOT, 'dist', 'agent-ops.js');
const BARE_SERVER = fileURLToPath(new URL('./bench-bare-server.ts', import.meta.url));
const LOAD_WORKER = fileURLToPath(new URL('./bench-load.ts', import.meta.url));
const SUBSCRIBE_WORKER = fileURLToPath(new URL('./bench-subscribe.ts', import.meta.url));
const RESULTS_FILE = join(ROOT, 'bench-results.json');

const WARMUP_MS = 1000;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 5000);
/** Workers start sending together this long after they are told to, so they start in step. */
const START_DELAY_MS = 300;

const INGEST_RUNS = 8;
const INGEST_PROCESSES = 2;
const INGEST_CONNECTIONS = 16;
const BATCH_SIZE = 1000;
const BATCH_PROCESSES = 1;
const BATCH_CONNECTIONS = 4;
const PRODUCER_CONNECTIONS = 8;
const STORE_RUNS = 100;
const STORE_EVENTS_PER_RUN = 10_000;
const STORE_PROCESSES = 2;
const STORE_CONNECTIONS = 2;
const COLD_STARTS = 3;
const CLI_REPEATS = 10;

const SATURATED_CORE_FRACTION = 0.9;
const SERVER_START_TIMEOUT_MS = 60_000;
const SERVER_STOP_TIMEOUT_MS = 10_000;
const DELIVERY_GRACE_MS = 5_000;

const BUDGET = {
  ingestRatio: 0.75,
  batchEventsPerS: 250_000,
  sse20P99Ms: 10,
  sse100P99Ms: 100,
  coldStartMs: 1500,
  rssMb: 150,
  helpOverheadMs: 40,
  stepsMs: 2000,
};

// ---------------------------------------------------------------------------------------------
// Bookkeeping: every child and temp dir is registered so that any way out removes them.

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function cleanUp(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `agent-ops-bench-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** What is broken (not merely slow): any entry makes the exit code 1. */
const broken: string[] = [];

interface Row {
  metric: string;
  measured: string;
  reference: string;
  verdict: string;
}
const rows: Row[] = [];
const results: Record<string, unknown> = {};

function row(metric: string, measured: string, reference = '', verdict = ''): void {
  rows.push({ metric, measured, reference, verdict });
  console.log(
    `  ${metric}: ${measured}${reference ? `  (${reference})` : ''}${verdict ? `  ${verdict}` : ''}`,
  );
}

function passFail(ok: boolean): string {
  return ok ? 'pass' : 'FAIL';
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number) => `${fmt(n, n < 10 ? 2 : n < 100 ? 1 : 0)} ms`;
const pct = (fraction: number) => `${fmt(fraction * 100)}%`;
const bytes = (n: number) =>
  n >= 1024 * 1024 ? `${fmt(n / 1024 / 1024, 2)} MB` : `${fmt(n / 1024, 1)} kB`;

function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// /proc readings: CPU time of one process, of the whole machine, and resident memory.

const CLOCK_TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself hold spaces; utime and stime
  // are fields 14 and 15 of proc(5), so 11 and 12 counted from the state field.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

function machineCpu(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!;
  return { busy: total - idle, total };
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

interface CpuWindow {
  /** The server's CPU time over the window, in cores (1 = one core busy all along). */
  serverCores: number;
  /** The whole machine's busy fraction over the window. */
  machineBusy: number;
}

/** Reads the server's and the machine's CPU counters at both edges of a window. */
async function sampleCpu(pid: number, windowStart: number, windowEnd: number): Promise<CpuWindow> {
  await sleep(windowStart - Date.now());
  const t0 = performance.now();
  const server0 = processCpuMs(pid);
  const machine0 = machineCpu();
  await sleep(windowEnd - Date.now());
  const elapsed = performance.now() - t0;
  const server1 = processCpuMs(pid);
  const machine1 = machineCpu();
  return {
    serverCores: (server1 - server0) / elapsed,
    machineBusy: (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP for the bench's own control requests (node:http, no keep-alive, so timings are plain).

interface Answer {
  status: number;
  text: string;
  ms: number;
}

function http(method: string, url: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': payload.length }
          : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function json<T>(method: string, url: string, body?: unknown): Promise<T> {
  const answer = await http(method, url, body);
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(`${method} ${url} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  return JSON.parse(answer.text) as T;
}

interface RunSummary {
  id: string;
  status: string;
  eventCount: number;
  lastSeq: number;
}

async function createRuns(base: string, ids: string[]): Promise<void> {
  for (const id of ids) await json('POST', `${base}/api/runs`, { id, title: `bench ${id}` });
}

async function eventCounts(base: string, ids: string[]): Promise<number> {
  let total = 0;
  for (const id of ids) {
    total += (await json<RunSummary>('GET', `${base}/api/runs/${encodeURIComponent(id)}`))
      .eventCount;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Servers and workers.

interface Server {
  url: string;
  pid: number;
  /** Spawn to the "listening on" line, ms. */
  startMs: number;
  stderr(): string;
  /** SIGTERM; resolves with how long the exit took. */
  stop(): Promise<number>;
}

async function startServer(kind: 'ours' | 'bare', dataDir = ''): Promise<Server> {
  const env: NodeJS.ProcessEnv = { ...process.env, AGENTOPS_LOG_LEVEL: 'quiet' };
  delete env.AGENTOPS_API_KEY;
  delete env.AGENTOPS_DATA_DIR;
  delete env.PORT;
  const started = performance.now();
  const child = track(
    kind === 'ours'
      ? spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : fork(BARE_SERVER, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }),
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    // Keep the tail only: a crash explains itself at the end.
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${kind} server did not print "listening on" within 60 s`)),
      SERVER_START_TIMEOUT_MS,
    );
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!.replace(/\/$/, ''));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  const startMs = performance.now() - started;
  child.stdout!.resume();
  return {
    url,
    pid: child.pid!,
    startMs,
    stderr: () => stderr,
    async stop() {
      const stopping = performance.now();
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${kind} server had already exited (${child.exitCode ?? child.signalCode}): ${stderr}`,
        );
      }
      child.kill('SIGTERM');
      const inTime = await Promise.race([
        exited.then(() => true),
        sleep(SERVER_STOP_TIMEOUT_MS).then(() => false),
      ]);
      if (!inTime) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`${kind} server did not exit within 10 s of SIGTERM`);
      }
      return performance.now() - stopping;
    },
  };
}

/** Ensures a server is stopped however the section ends; a failed stop is reported as broken. */
async function withServer<T>(server: Server, name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await server.stop().catch((error: unknown) => broken.push(`${name}: ${String(error)}`));
  }
}

type WorkerMessage = { type: string; [key: string]: unknown };

/** A forked bench worker, spoken to over IPC. */
class Worker {
  readonly child: ChildProcess;
  #inbox: WorkerMessage[] = [];
  #wake: (() => void) | undefined;
  #exit: string | undefined;

  constructor(file: string) {
    this.child = track(fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.child.on('message', (message: WorkerMessage) => {
      this.#inbox.push(message);
      this.#wake?.();
    });
    this.child.once('exit', (code, signal) => {
      this.#exit = `worker ${file} exited (${code ?? signal})`;
      this.#wake?.();
    });
  }

  static async start(file: string, count: number): Promise<Worker[]> {
    const workers = Array.from({ length: count }, () => new Worker(file));
    await Promise.all(workers.map((w) => w.next('online', 30_000)));
    return workers;
  }

  send(message: unknown): void {
    this.child.send(message as object);
  }

  async next<T = WorkerMessage>(type: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (index !== -1) {
        const [message] = this.#inbox.splice(index, 1);
        if (message!.type === 'error') throw new Error(`worker failed: ${String(message!.error)}`);
        return message as T;
      }
      if (this.#exit) throw new Error(`${this.#exit} while the bench waited for "${type}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`worker sent no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Latency histograms: [bucket, count] pairs from the workers, HIST_BUCKET_MS wide.

interface Latency {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function latencyOf(histograms: [number, number][][]): Latency {
  const merged = new Map<number, number>();
  for (const histogram of histograms) {
    for (const [bucket, count] of histogram) merged.set(bucket, (merged.get(bucket) ?? 0) + count);
  }
  const buckets = [...merged].sort((a, b) => a[0] - b[0]);
  const count = buckets.reduce((sum, [, n]) => sum + n, 0);
  const at = (q: number) => {
    let seen = 0;
    for (const [bucket, n] of buckets) {
      seen += n;
      if (seen >= q * count) return bucket * HIST_BUCKET_MS;
    }
    return NaN;
  };
  return { count, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
}

function sumOf(reports: LoadReport[], key: 'okEvents' | 'failed' | 'windowEvents' | 'cpuMs') {
  return reports.reduce((sum, r) => sum + r[key], 0);
}

function failuresOf(reports: LoadReport[]): string {
  return reports
    .flatMap((r) => r.firstErrors)
    .slice(0, 3)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// 1 + 2. Closed-loop ingest: single events, or arrays of BATCH_SIZE.

interface IngestResult {
  eventsPerS: number;
  okEvents: number;
  failed: number;
  serverCores: number;
  loadCores: number;
  machineBusy: number;
  /** CPU used by processes outside this measurement (other work on the machine), in cores. */
  otherCores: number;
  ack: Latency;
}

async function measureIngest(
  server: Server,
  label: string,
  mode: 'post' | 'batch',
  client: 'http' | 'lean',
  verify: boolean,
): Promise<IngestResult> {
  const runIds = Array.from({ length: INGEST_RUNS }, (_, i) => `bench-${label}-${i}`);
  await createRuns(server.url, runIds);
  const before = verify ? await eventCounts(server.url, runIds) : 0;
  const processes = mode === 'post' ? INGEST_PROCESSES : BATCH_PROCESSES;
  const workers = await Worker.start(LOAD_WORKER, processes);
  const startAt = Date.now() + START_DELAY_MS;
  const job: LoadJob = {
    mode,
    url: server.url,
    runIds,
    client,
    connections: mode === 'post' ? INGEST_CONNECTIONS : BATCH_CONNECTIONS,
    batchSize: BATCH_SIZE,
    startAt,
    warmupMs: WARMUP_MS,
    durationMs: MEASURE_MS,
  };
  for (const worker of workers) worker.send(job);
  const cpu = sampleCpu(server.pid, startAt + WARMUP_MS, startAt + WARMUP_MS + MEASURE_MS);
  const timeout = START_DELAY_MS + WARMUP_MS + MEASURE_MS + 30_000;
  const reports = await Promise.all(
    workers.map(async (w) => (await w.next<{ report: LoadReport }>('report', timeout)).report),
  );
  const { serverCores, machineBusy } = await cpu;
  const result: IngestResult = {
    eventsPerS: sumOf(reports, 'windowEvents') / (MEASURE_MS / 1000),
    okEvents: sumOf(reports, 'okEvents'),
    failed: sumOf(reports, 'failed'),
    serverCores,
    loadCores: sumOf(reports, 'cpuMs') / MEASURE_MS,
    machineBusy,
    otherCores: 0,
    ack: latencyOf(reports.map((r) => r.ackHistogram)),
  };
  result.otherCores = Math.max(0, machineBusy * cpus().length - serverCores - result.loadCores);
  if (result.failed > 0) {
    broken.push(`${label}: ${result.failed} requests failed: ${failuresOf(reports)}`);
  }
  if (verify) {
    const stored = (await eventCounts(server.url, runIds)) - before;
    if (stored !== result.okEvents) {
      broken.push(`${label}: ${result.okEvents} events acknowledged but ${stored} stored`);
    }
  }
  return result;
}

function describeIngest(result: IngestResult): string {
  return (
    `${fmt(result.eventsPerS)} events/s; server CPU ${pct(result.serverCores)} of a core, ` +
    `load generators ${pct(result.loadCores)}, other processes ${pct(result.otherCores)}; ` +
    `ack p50 ${ms(result.ack.p50Ms)} p99 ${ms(result.ack.p99Ms)}`
  );
}

/** Other work on the machine above this (in cores) makes a throughput figure suspect. */
const NOISY_OTHER_CORES = 0.25;

function noise(result: IngestResult): string {
  return result.otherCores > NOISY_OTHER_CORES
    ? `; noisy: other processes used ${pct(result.otherCores)} of a core`
    : '';
}

/** Events per second of the server's own CPU time: a ratio the load generator cannot distort. */
function perCpuSecond(result: IngestResult): number {
  return result.eventsPerS / Math.max(result.serverCores, 1e-9);
}

async function benchIngest(ours: Server): Promise<void> {
  console.log('\n[1] single-event POST ingest, ours vs a bare node:http server, same load');
  const measured: Record<string, unknown> = {};
  const efficiency: string[] = [];
  for (const client of ['http', 'lean'] as const) {
    const load = client === 'http' ? 'node:http load' : 'lean net load';
    const bareServer = await startServer('bare');
    const bare = await withServer(bareServer, 'bare server', () =>
      measureIngest(bareServer, `bare-${client}`, 'post', client, false),
    );
    console.log(`  bare, ${load}: ${describeIngest(bare)}`);
    const mine = await measureIngest(ours, `single-${client}`, 'post', client, true);
    console.log(`  ours, ${load}: ${describeIngest(mine)}`);
    const ratio = mine.eventsPerS / bare.eventsPerS;
    const saturated = bare.serverCores >= SATURATED_CORE_FRACTION;
    const cpuRatio = perCpuSecond(mine) / perCpuSecond(bare);
    measured[client] = { bare, ours: mine, ratio, bareSaturated: saturated, cpuRatio };
    efficiency.push(`${fmt(cpuRatio, 2)}× (${load})`);
    row(
      `single-event ingest, bare (${load})`,
      `${fmt(bare.eventsPerS)} ev/s`,
      'baseline',
      `core ${saturated ? 'saturated' : 'NOT saturated'} (${pct(bare.serverCores)})`,
    );
    row(
      `single-event ingest, ours (${load})`,
      `${fmt(mine.eventsPerS)} ev/s (${pct(mine.serverCores)} of a core)`,
      `≥ ${BUDGET.ingestRatio} × bare`,
      `${fmt(ratio, 2)}× ${passFail(ratio >= BUDGET.ingestRatio)}${saturated ? '' : ' (load-bound)'}` +
        noise(bare.otherCores > mine.otherCores ? bare : mine),
    );
  }
  results.ingest = measured;
  row('ingest events per server CPU-s, ours / bare', efficiency.join(', '), 'report only');
}

async function benchBatch(ours: Server): Promise<void> {
  console.log(`\n[2] batch ingest, ${BATCH_SIZE} events per POST`);
  const batch = await measureIngest(ours, 'batch', 'batch', 'http', true);
  console.log(`  ours: ${describeIngest(batch)}`);
  results.batch = batch;
  row(
    `batch ingest (${BATCH_SIZE}/POST)`,
    `${fmt(batch.eventsPerS)} ev/s`,
    `≥ ${fmt(BUDGET.batchEventsPerS)} ev/s`,
    passFail(batch.eventsPerS >= BUDGET.batchEventsPerS) + noise(batch),
  );
}

// ---------------------------------------------------------------------------------------------
// 3. POST → SSE delivery.

async function measureDelivery(
  server: Server,
  label: string,
  subscribers: number,
  processes: number,
  ratePerS: number,
) {
  const runId = `bench-sse-${label}`;
  await createRuns(server.url, [runId]);
  const total = Math.round((ratePerS * (WARMUP_MS + MEASURE_MS)) / 1000);
  const [listeners, [producer]] = await Promise.all([
    Worker.start(SUBSCRIBE_WORKER, processes),
    Worker.start(LOAD_WORKER, 1),
  ]);
  listeners.forEach((worker, i) => {
    const share = Math.floor(subscribers / processes) + (i < subscribers % processes ? 1 : 0);
    const job: SubscribeJob = { url: server.url, runId, subscribers: share, maxEvents: total + 1 };
    worker.send(job);
  });
  await Promise.all(listeners.map((w) => w.next('ready', 30_000)));
  const startAt = Date.now() + START_DELAY_MS;
  const job: LoadJob = {
    mode: 'produce',
    url: server.url,
    runId,
    connections: PRODUCER_CONNECTIONS,
    ratePerS,
    startAt,
    warmupMs: WARMUP_MS,
    durationMs: MEASURE_MS,
  };
  producer!.send(job);
  const cpu = sampleCpu(server.pid, startAt + WARMUP_MS, startAt + WARMUP_MS + MEASURE_MS);
  const timeout = START_DELAY_MS + WARMUP_MS + MEASURE_MS + 60_000;
  const sent = (await producer!.next<{ report: LoadReport }>('report', timeout)).report;
  for (const w of listeners) w.send({ expected: sent.okEvents, timeoutMs: DELIVERY_GRACE_MS });
  const reports = await Promise.all(
    listeners.map(async (w) => {
      return (await w.next<{ report: SubscribeReport }>('report', DELIVERY_GRACE_MS + 30_000))
        .report;
    }),
  );
  const received = reports.flatMap((r) => r.received);
  const subscriberCpuMs = reports.reduce((sum, r) => sum + r.cpuMs, 0);
  const delivered = received.reduce((sum, n) => sum + n, 0);
  const result = {
    subscribers,
    processes,
    ratePerS,
    sent: total,
    acknowledged: sent.okEvents,
    failed: sent.failed,
    expectedDeliveries: sent.okEvents * subscribers,
    delivered,
    fewestReceived: Math.min(...received),
    duplicates: reports.reduce((sum, r) => sum + r.duplicates, 0),
    reconnects: reports.reduce((sum, r) => sum + r.reconnects, 0),
    truncated: reports.reduce((sum, r) => sum + r.truncated, 0),
    latency: latencyOf(reports.map((r) => r.latencyHistogram)),
    ack: latencyOf([sent.ackHistogram]),
    subscriberCores: subscriberCpuMs / sent.elapsedMs,
    ...(await cpu),
  };
  if (sent.failed > 0) {
    broken.push(`SSE ${label}: ${sent.failed} POSTs failed: ${failuresOf([sent])}`);
  }
  if (received.length !== subscribers || result.fewestReceived < sent.okEvents) {
    broken.push(
      `SSE ${label}: ${fmt(result.expectedDeliveries - delivered)} of ` +
        `${fmt(result.expectedDeliveries)} deliveries missing (fewest received by one subscriber: ` +
        `${result.fewestReceived} of ${sent.okEvents})`,
    );
  }
  if (result.duplicates > 0) broken.push(`SSE ${label}: ${result.duplicates} duplicate deliveries`);
  const notes = reports.flatMap((r) => r.firstErrors);
  console.log(
    `  ${subscribers} subscribers in ${processes} process(es), ${ratePerS} events/s: ` +
      `${fmt(delivered)} / ${fmt(result.expectedDeliveries)} delivered, ` +
      `p50 ${ms(result.latency.p50Ms)} p99 ${ms(result.latency.p99Ms)} ` +
      `max ${ms(result.latency.maxMs)}; CPU: server ${pct(result.serverCores)}, ` +
      `subscribers ${pct(result.subscriberCores)}, machine ${pct(result.machineBusy)} busy; ` +
      `${result.reconnects} reconnects${notes.length ? ` (${notes[0]})` : ''}`,
  );
  return result;
}

async function benchDelivery(ours: Server): Promise<void> {
  console.log('\n[3] POST → SSE delivery (send time stamped in the payload)');
  const small = await measureDelivery(ours, '20', 20, 1, 500);
  row(
    'SSE delivery p99, 20 subs, 500 ev/s',
    `${ms(small.latency.p99Ms)} (p50 ${ms(small.latency.p50Ms)})`,
    `≤ ${BUDGET.sse20P99Ms} ms`,
    passFail(small.latency.p99Ms <= BUDGET.sse20P99Ms),
  );
  const large = await measureDelivery(ours, '100', 100, 4, 1000);
  const complete = large.fewestReceived >= large.acknowledged && large.delivered > 0;
  row(
    'SSE 100 subs / 4 procs, 1000 ev/s: delivered',
    `${fmt(large.delivered)} / ${fmt(large.expectedDeliveries)}`,
    'every event',
    passFail(complete),
  );
  row(
    'SSE delivery p99, 100 subs, 1000 ev/s',
    `${ms(large.latency.p99Ms)} (p50 ${ms(large.latency.p50Ms)})`,
    `≤ ${BUDGET.sse100P99Ms} ms`,
    passFail(large.latency.p99Ms <= BUDGET.sse100P99Ms),
  );
  results.delivery = { small, large };
}

// ---------------------------------------------------------------------------------------------
// 5. A store of a million events.

async function benchStore(): Promise<void> {
  const totalEvents = STORE_RUNS * STORE_EVENTS_PER_RUN;
  console.log(`\n[5] store of ${fmt(totalEvents)} events`);
  const dataDir = tempDir('store');
  const runIds = Array.from(
    { length: STORE_RUNS },
    (_, i) => `store-${String(i).padStart(3, '0')}`,
  );
  const server = await startServer('ours', dataDir);
  let fill: { ms: number; eventsPerS: number; okEvents: number };
  let stopMs = NaN;
  try {
    const workers = await Worker.start(LOAD_WORKER, STORE_PROCESSES);
    const started = performance.now();
    workers.forEach((worker, w) => {
      const job: LoadJob = {
        mode: 'fill',
        url: server.url,
        runIds: runIds.filter((_, i) => i % STORE_PROCESSES === w),
        connections: STORE_CONNECTIONS,
        batchSize: BATCH_SIZE,
        batchesPerRun: STORE_EVENTS_PER_RUN / BATCH_SIZE,
      };
      worker.send(job);
    });
    const reports = await Promise.all(
      workers.map(async (w) => (await w.next<{ report: LoadReport }>('report', 300_000)).report),
    );
    const fillMs = performance.now() - started;
    fill = { ms: fillMs, okEvents: sumOf(reports, 'okEvents'), eventsPerS: 0 };
    fill.eventsPerS = fill.okEvents / (fillMs / 1000);
    console.log(
      `  filled ${fmt(fill.okEvents)} events in ${ms(fillMs)}: ${fmt(fill.eventsPerS)} events/s`,
    );
    if (sumOf(reports, 'failed') > 0) {
      throw new Error(`${sumOf(reports, 'failed')} fill requests failed: ${failuresOf(reports)}`);
    }
    await checkStore(server.url, runIds, totalEvents);
  } finally {
    stopMs = await server.stop();
  }
  console.log(`  SIGTERM → exit: ${ms(stopMs)}`);

  const starts: {
    startMs: number;
    rssAtListen: number;
    firstPageMs: number;
    againMs: number;
    rssAfter: number;
  }[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const cold = await startServer('ours', dataDir);
    await withServer(cold, 'cold-started server', async () => {
      const rssAtListen = rssBytes(cold.pid);
      // A different run each time, so each first read is that run's first touch.
      const runId = runIds[(i * 37) % runIds.length]!;
      const path = `${cold.url}/api/runs/${runId}/events?limit=500`;
      const first = await http('GET', path);
      const again = await http('GET', path);
      checkFirstPage(runId, first);
      if (i === 0) await checkStore(cold.url, runIds, totalEvents);
      starts.push({
        startMs: cold.startMs,
        rssAtListen,
        firstPageMs: first.ms,
        againMs: again.ms,
        rssAfter: rssBytes(cold.pid),
      });
      console.log(
        `  cold start ${i + 1}: listening after ${ms(cold.startMs)}, RSS ${bytes(rssAtListen)}; ` +
          `first page of ${runId}: ${ms(first.ms)} (again ${ms(again.ms)}), RSS then ${bytes(rssBytes(cold.pid))}`,
      );
    });
  }
  const startMs = median(starts.map((s) => s.startMs));
  const rss = Math.max(...starts.map((s) => s.rssAtListen));
  const rssAfter = Math.max(...starts.map((s) => s.rssAfter));
  const firstPageMs = median(starts.map((s) => s.firstPageMs));
  results.store = { events: totalEvents, runs: STORE_RUNS, fill, stopMs, starts };
  row(
    `batch fill of ${fmt(totalEvents)} events`,
    `${fmt(fill.eventsPerS)} ev/s (${ms(fill.ms)})`,
    `≥ ${fmt(BUDGET.batchEventsPerS)} ev/s`,
    passFail(fill.eventsPerS >= BUDGET.batchEventsPerS),
  );
  row(
    'cold start, 1M-event store (median)',
    ms(startMs),
    `≤ ${fmt(BUDGET.coldStartMs)} ms`,
    passFail(startMs <= BUDGET.coldStartMs),
  );
  row(
    'server RSS after start (max)',
    `${bytes(rss)} (${bytes(rssAfter)} after a read)`,
    `≤ ${BUDGET.rssMb} MB`,
    passFail(rss <= BUDGET.rssMb * 1024 * 1024),
  );
  row(
    `first page of one ${fmt(STORE_EVENTS_PER_RUN)}-event run`,
    `${ms(firstPageMs)} (median; then ${ms(median(starts.map((s) => s.againMs)))})`,
    'report only',
  );
}

async function checkStore(base: string, runIds: string[], expected: number): Promise<void> {
  const runs = await json<RunSummary[]>('GET', `${base}/api/runs?limit=1000`);
  const ours = new Set(runIds);
  const listed = runs.filter((r) => ours.has(r.id));
  const stored = listed.reduce((sum, r) => sum + r.eventCount, 0);
  if (listed.length !== runIds.length || stored !== expected) {
    throw new Error(
      `store holds ${fmt(stored)} events in ${listed.length} runs; ` +
        `expected ${fmt(expected)} in ${runIds.length}`,
    );
  }
}

function checkFirstPage(runId: string, answer: Answer): void {
  if (answer.status !== 200) throw new Error(`first page of ${runId} answered ${answer.status}`);
  const events = JSON.parse(answer.text) as { seq: number }[];
  const inOrder = events.every((event, i) => event.seq === i + 1);
  if (events.length !== 500 || !inOrder) {
    throw new Error(
      `first page of ${runId} holds ${events.length} events, seq in order: ${inOrder}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// 4. The CLI.

function timeSync(args: string[]): { ms: number; status: number | null; output: string } {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', env: cliEnv() });
  return {
    ms: performance.now() - started,
    status: result.status,
    output: `${result.stdout}${result.stderr}`,
  };
}

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', NO_COLOR: '1' };
  delete env.AGENTOPS_SERVER;
  delete env.AGENTOPS_API_KEY;
  delete env.GITHUB_STEP_SUMMARY;
  return env;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 160) ?? '';
}

async function benchCli(ours: Server): Promise<void> {
  console.log('\n[4] CLI');
  const probe = timeSync([CLI, '--help']);
  if (probe.status !== 0) {
    const reason = `--help exited ${probe.status}: ${firstLine(probe.output)}`;
    results.cli = { skipped: reason };
    row('CLI --help', `skipped: ${reason}`);
    row('CLI --steps 1000 --interval 0', `skipped: ${reason}`);
    return;
  }
  const bare: number[] = [];
  const help: number[] = [];
  for (let i = 0; i <= CLI_REPEATS; i++) {
    const nodeRun = timeSync(['-e', '0']);
    const helpRun = timeSync([CLI, '--help']);
    if (helpRun.status !== 0) broken.push(`CLI --help exited ${helpRun.status}`);
    // The first pair only warms the disk cache.
    if (i > 0) {
      bare.push(nodeRun.ms);
      help.push(helpRun.ms);
    }
  }
  const overhead = median(help) - median(bare);
  row(
    'CLI --help over node -e 0 (median)',
    `+${ms(overhead)} (${ms(median(help))} vs ${ms(median(bare))})`,
    `≤ ${BUDGET.helpOverheadMs} ms`,
    passFail(overhead <= BUDGET.helpOverheadMs),
  );
  const cli: Record<string, unknown> = {
    helpMs: median(help),
    nodeMs: median(bare),
    overheadMs: overhead,
  };
  results.cli = cli;

  if (!probe.output.includes('--steps')) {
    cli.steps = { skipped: '--help does not mention --steps' };
    row('CLI --steps 1000 --interval 0', 'skipped: --help does not mention --steps');
    return;
  }
  const before = new Set(
    (await json<RunSummary[]>('GET', `${ours.url}/api/runs?limit=1000`)).map((r) => r.id),
  );
  const args = [CLI, '--steps', '1000', '--interval', '0', '--server', ours.url];
  const started = performance.now();
  const child = track(
    spawn(process.execPath, args, { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const status = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const wallMs = performance.now() - started;
  if (status === 2) {
    cli.steps = { skipped: `usage error: ${firstLine(output)}` };
    row('CLI --steps 1000 --interval 0', `skipped: usage error: ${firstLine(output)}`);
    return;
  }
  const after = await json<RunSummary[]>('GET', `${ours.url}/api/runs?limit=1000`);
  const created = after.filter((r) => !before.has(r.id));
  cli.steps = { wallMs, status, runs: created };
  if (status !== 0) broken.push(`CLI --steps 1000 exited ${status}: ${firstLine(output)}`);
  else if (
    created.length !== 1 ||
    created[0]!.status !== 'completed' ||
    created[0]!.eventCount < 1000
  ) {
    broken.push(`CLI --steps 1000 exited 0 but left ${JSON.stringify(created)}`);
  }
  row(
    'CLI --steps 1000 --interval 0',
    `${ms(wallMs)}${created[0] ? ` (${fmt(created[0].eventCount)} events)` : ''}`,
    `≤ ${fmt(BUDGET.stepsMs)} ms`,
    passFail(status === 0 && wallMs <= BUDGET.stepsMs),
  );
}

// ---------------------------------------------------------------------------------------------
// 6. Bundle sizes.

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

function benchBundles(): void {
  console.log('\n[6] bundles');
  const dist = dirname(CLI);
  const sizes: Record<string, { bytes: number; gzip: number }> = {};
  // dist/dashboard is measured file by file in section 7.
  for (const name of ['agent-ops.js', 'server.js']) {
    const path = join(dist, name);
    if (!existsSync(path)) continue;
    const files = filesUnder(path);
    const size = files.reduce((sum, f) => sum + statSync(f).size, 0);
    const gzip = files.reduce((sum, f) => sum + gzipSync(readFileSync(f)).length, 0);
    sizes[name] = { bytes: size, gzip };
    row(
      `bundle ${name}${files.length > 1 ? ` (${files.length} files)` : ''}`,
      `${bytes(size)} (${bytes(gzip)} gzip)`,
      'report only',
    );
  }
  results.bundles = sizes;
}

// ---------------------------------------------------------------------------------------------

async function section(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    broken.push(`${name}: ${message}`);
    row(name, `error: ${firstLine(message)}`, '', 'BROKEN');
  }
}

function printTable(): void {
  const header: Row = {
    metric: 'metric',
    measured: 'measured',
    reference: 'baseline / budget',
    verdict: 'ratio / verdict',
  };
  const all = [header, ...rows];
  const widths = (['metric', 'measured', 'reference'] as const).map((key) =>
    Math.max(...all.map((r) => r[key].length)),
  );
  const line = (r: Row) =>
    `${r.metric.padEnd(widths[0]!)} │ ${r.measured.padEnd(widths[1]!)} │ ${r.reference.padEnd(widths[2]!)} │ ${r.verdict}`;
  console.log(`\n${line(header)}`);
  console.log(widths.map((w) => '─'.repeat(w)).join('─┼─') + '─┼─' + '─'.repeat(15));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const began = performance.now();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  console.log(
    `agent-ops bench: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ` +
      `${MEASURE_MS / 1000} s windows after ${WARMUP_MS / 1000} s of warm-up`,
  );

  await section('server', async () => {
    const ours = await startServer('ours', tempDir('ingest'));
    await withServer(ours, 'server', async () => {
      await section('single-event ingest', () => benchIngest(ours));
      await section('batch ingest', () => benchBatch(ours));
      await section('SSE delivery', () => benchDelivery(ours));
      await section('CLI', () => benchCli(ours));
    });
  });
  await section('1M-event store', benchStore);
  await section('bundles', async () => benchBundles());
  await section('dashboard', () =>
    benchDashboard({
      dashboardDir: join(dirname(CLI), 'dashboard'),
      measureMs: MEASURE_MS,
      startDelayMs: START_DELAY_MS,
      clockTicksPerS: CLOCK_TICKS_PER_S,
      noisyOtherCores: NOISY_OTHER_CORES,
      async withServer(body) {
        const server = await startServer('ours', tempDir('dashboard'));
        return withServer(server, 'dashboard server', () => body(server));
      },
      startLoadWorker: async () => (await Worker.start(LOAD_WORKER, 1))[0]!,
      json,
      machineCpu,
      row,
      passFail,
      median,
      fmt,
      ms,
      bytes,
      results,
      broken,
    }),
  );

  printTable();
  const seconds = (performance.now() - began) / 1000;
  results.rows = rows;
  results.broken = broken;
  results.meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    warmupMs: WARMUP_MS,
    measureMs: MEASURE_MS,
    seconds,
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${fmt(seconds, 1)} s; results in ${RESULTS_FILE}`);
  if (broken.length > 0) {
    console.log('\nBROKEN:');
    for (const problem of broken) console.log(`  - ${problem}`);
    process.exitCode = 1;
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanUp);
