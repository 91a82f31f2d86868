// Closed-loop ingest over one measurement window: load workers POST single events or arrays to a
// server as fast as it answers, and the window's events, acknowledgement latencies and CPU (the
// server's, the load's and everyone else's) come back as one IngestResult.
import { cpus } from 'node:os';
import { createRuns, eventCounts } from './control-http.ts';
import { fmt, ms, pct } from './format.ts';
import { latencyOf, type Latency } from './latency.ts';
import type { LoadJob, LoadReport } from './load-worker.ts';
import { sampleCpu } from './proc-stats.ts';
import type { Report } from './report.ts';
import type { BenchServer } from './servers.ts';
import { MEASURE_MS, START_DELAY_MS, WARMUP_MS } from './timing.ts';
import { LOAD_WORKER, Worker } from './workers.ts';

const INGEST_RUNS = 8;
/** How long after the window a worker may take to report before the bench gives up. */
const REPORT_GRACE_MS = 30_000;

export interface IngestLoad {
  mode: 'post' | 'batch';
  client: 'http' | 'lean';
  processes: number;
  connections: number;
  batchSize: number;
  /** Check afterwards that every acknowledged event was stored. */
  verify: boolean;
}

export interface IngestResult {
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

function sumOf(reports: LoadReport[], key: 'okEvents' | 'failed' | 'windowEvents' | 'cpuMs') {
  return reports.reduce((sum, r) => sum + r[key], 0);
}

export function failuresOf(reports: LoadReport[]): string {
  return reports
    .flatMap((r) => r.firstErrors)
    .slice(0, 3)
    .join('; ');
}

export async function measureIngest(
  report: Report,
  server: BenchServer,
  label: string,
  load: IngestLoad,
): Promise<IngestResult> {
  const runIds = Array.from({ length: INGEST_RUNS }, (_, i) => `bench-${label}-${i}`);
  await createRuns(server.url, runIds);
  const before = load.verify ? await eventCounts(server.url, runIds) : 0;
  const workers = await Worker.start(LOAD_WORKER, load.processes);
  const startAt = Date.now() + START_DELAY_MS;
  const job: LoadJob = {
    mode: load.mode,
    url: server.url,
    runIds,
    client: load.client,
    connections: load.connections,
    batchSize: load.batchSize,
    startAt,
    warmupMs: WARMUP_MS,
    durationMs: MEASURE_MS,
  };
  for (const worker of workers) worker.send(job);
  const cpu = sampleCpu(server.pid, startAt + WARMUP_MS, startAt + WARMUP_MS + MEASURE_MS);
  const timeout = START_DELAY_MS + WARMUP_MS + MEASURE_MS + REPORT_GRACE_MS;
  const reports = await Promise.all(
    workers.map(async (w) => (await w.next<{ report: LoadReport }>('report', timeout)).report),
  );
  const { serverCores, machineBusy } = await cpu;
  const loadCores = sumOf(reports, 'cpuMs') / MEASURE_MS;
  const result: IngestResult = {
    eventsPerS: sumOf(reports, 'windowEvents') / (MEASURE_MS / 1000),
    okEvents: sumOf(reports, 'okEvents'),
    failed: sumOf(reports, 'failed'),
    serverCores,
    loadCores,
    machineBusy,
    otherCores: Math.max(0, machineBusy * cpus().length - serverCores - loadCores),
    ack: latencyOf(reports.map((r) => r.ackHistogram)),
  };
  if (result.failed > 0) {
    report.broken(`${label}: ${result.failed} requests failed: ${failuresOf(reports)}`);
  }
  if (load.verify) {
    const stored = (await eventCounts(server.url, runIds)) - before;
    if (stored !== result.okEvents) {
      report.broken(`${label}: ${result.okEvents} events acknowledged but ${stored} stored`);
    }
  }
  return result;
}

export function describeIngest(result: IngestResult): string {
  return (
    `${fmt(result.eventsPerS)} events/s; server CPU ${pct(result.serverCores)} of a core, ` +
    `load generators ${pct(result.loadCores)}, other processes ${pct(result.otherCores)}; ` +
    `ack p50 ${ms(result.ack.p50Ms)} p99 ${ms(result.ack.p99Ms)}`
  );
}
