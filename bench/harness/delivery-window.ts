// POST → SSE delivery over one measurement window: subscribers in processes of their own
// (subscribe-worker.ts) hold streams of one run while a producer process (load-worker.ts,
// 'produce') posts events stamped with their send time at a fixed rate; every subscriber must
// receive every acknowledged event, once. What arrived, how late, and whose CPU it took come back
// as one DeliveryResult.
import { cpus } from 'node:os';
import { createRuns } from './control-http.ts';
import { fmt, ms, pct } from './format.ts';
import { failuresOf } from './ingest-window.ts';
import { latencyOf, type Latency } from './latency.ts';
import type { LoadJob, LoadReport } from './load-worker.ts';
import { sampleCpu } from './proc-stats.ts';
import type { Report } from './report.ts';
import type { BenchServer } from './servers.ts';
import type { SubscribeJob, SubscribeReport } from './subscribe-worker.ts';
import { MEASURE_MS, START_DELAY_MS, WARMUP_MS } from './timing.ts';
import { LOAD_WORKER, SUBSCRIBE_WORKER, Worker } from './workers.ts';

const PRODUCER_CONNECTIONS = 8;
/** How long after the last acknowledgement subscribers may take to receive everything. */
const DELIVERY_GRACE_MS = 5_000;
/** How long subscribers may take to connect, and to report once told to finish. */
const WORKER_GRACE_MS = 30_000;

export interface DeliveryLoad {
  /** Names the run: bench-sse-<label>. */
  label: string;
  subscribers: number;
  processes: number;
  ratePerS: number;
  /** Filler per event, bytes. */
  padBytes?: number;
}

export interface DeliveryResult {
  /** Date.now() when the producer started, and when its last answer came. */
  startAt: number;
  endAt: number;
  subscribers: number;
  processes: number;
  ratePerS: number;
  sent: number;
  acknowledged: number;
  failed: number;
  expectedDeliveries: number;
  delivered: number;
  fewestReceived: number;
  duplicates: number;
  reconnects: number;
  truncated: number;
  latency: Latency;
  ack: Latency;
  serverCores: number;
  subscriberCores: number;
  producerCores: number;
  machineBusy: number;
  /** CPU used by processes outside this measurement (other work on the machine), in cores. */
  otherCores: number;
}

export async function measureDelivery(
  report: Report,
  server: BenchServer,
  { label, subscribers, processes, ratePerS, padBytes }: DeliveryLoad,
): Promise<DeliveryResult> {
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
  await Promise.all(listeners.map((w) => w.next('ready', WORKER_GRACE_MS)));
  const startAt = Date.now() + START_DELAY_MS;
  const job: LoadJob = {
    mode: 'produce',
    url: server.url,
    runId,
    connections: PRODUCER_CONNECTIONS,
    ratePerS,
    padBytes,
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
      return (
        await w.next<{ report: SubscribeReport }>('report', DELIVERY_GRACE_MS + WORKER_GRACE_MS)
      ).report;
    }),
  );
  const received = reports.flatMap((r) => r.received);
  const subscriberCores = reports.reduce((sum, r) => sum + r.cpuMs, 0) / sent.elapsedMs;
  const producerCores = sent.cpuMs / sent.elapsedMs;
  const delivered = received.reduce((sum, n) => sum + n, 0);
  const { serverCores, machineBusy } = await cpu;
  const result: DeliveryResult = {
    startAt,
    endAt: startAt + sent.elapsedMs,
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
    serverCores,
    subscriberCores,
    producerCores,
    machineBusy,
    otherCores: Math.max(
      0,
      machineBusy * cpus().length - serverCores - subscriberCores - producerCores,
    ),
  };
  if (sent.failed > 0) {
    report.broken(`SSE ${label}: ${sent.failed} POSTs failed: ${failuresOf([sent])}`);
  }
  if (received.length !== subscribers || result.fewestReceived < sent.okEvents) {
    report.broken(
      `SSE ${label}: ${fmt(result.expectedDeliveries - delivered)} of ` +
        `${fmt(result.expectedDeliveries)} deliveries missing (fewest received by one subscriber: ` +
        `${result.fewestReceived} of ${sent.okEvents})`,
    );
  }
  if (result.duplicates > 0) {
    report.broken(`SSE ${label}: ${result.duplicates} duplicate deliveries`);
  }
  const notes = reports.flatMap((r) => r.firstErrors);
  console.log(
    `  ${subscribers} subscribers in ${processes} process(es), ${ratePerS} events/s: ` +
      `${fmt(delivered)} / ${fmt(result.expectedDeliveries)} delivered, ` +
      `p50 ${ms(result.latency.p50Ms)} p99 ${ms(result.latency.p99Ms)} ` +
      `max ${ms(result.latency.maxMs)}; CPU: server ${pct(serverCores)}, ` +
      `subscribers ${pct(subscriberCores)}, producer ${pct(producerCores)}, ` +
      `other processes ${pct(result.otherCores)}; ` +
      `${result.reconnects} reconnects${notes.length ? ` (${notes[0]})` : ''}`,
  );
  return result;
}

/** Every subscriber got every acknowledged event. */
export function deliveredAll(result: DeliveryResult): boolean {
  return result.fewestReceived >= result.acknowledged && result.delivered > 0;
}
