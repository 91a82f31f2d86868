// POST → SSE delivery latency: subscribers in processes of their own (subscribe-worker.ts)
// hold streams of one run while a producer process posts events stamped with their send time at
// a fixed rate; every subscriber must receive every acknowledged event, once. First 20 subscribers
// at 500 events/s, then 100 subscribers in 4 processes at 1,000 events/s (the budgeted one).
import { BUDGETS } from '../budgets.ts';
import { createRuns } from '../harness/control-http.ts';
import { fmt, ms, pct } from '../harness/format.ts';
import { failuresOf } from '../harness/ingest-window.ts';
import { latencyOf } from '../harness/latency.ts';
import type { LoadJob, LoadReport } from '../harness/load-worker.ts';
import { sampleCpu } from '../harness/proc-stats.ts';
import { passFail, type Report } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import type { BenchServer } from '../harness/servers.ts';
import type { SubscribeJob, SubscribeReport } from '../harness/subscribe-worker.ts';
import { MEASURE_MS, START_DELAY_MS, WARMUP_MS } from '../harness/timing.ts';
import { LOAD_WORKER, SUBSCRIBE_WORKER, Worker } from '../harness/workers.ts';

export const title = 'POST → SSE delivery (send time stamped in the payload)';

const PRODUCER_CONNECTIONS = 8;
/** How long after the last acknowledgement subscribers may take to receive everything. */
const DELIVERY_GRACE_MS = 5_000;

async function measureDelivery(
  report: Report,
  server: BenchServer,
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
      `max ${ms(result.latency.maxMs)}; CPU: server ${pct(result.serverCores)}, ` +
      `subscribers ${pct(result.subscriberCores)}, machine ${pct(result.machineBusy)} busy; ` +
      `${result.reconnects} reconnects${notes.length ? ` (${notes[0]})` : ''}`,
  );
  return result;
}

export async function run({ report, sharedServer }: Bench): Promise<void> {
  const ours = await sharedServer();
  const small = await measureDelivery(report, ours, '20', 20, 1, 500);
  report.row(
    'SSE delivery p99, 20 subs, 500 ev/s',
    `${ms(small.latency.p99Ms)} (p50 ${ms(small.latency.p50Ms)})`,
    'report only',
  );
  const large = await measureDelivery(report, ours, '100', 100, 4, 1000);
  const complete = large.fewestReceived >= large.acknowledged && large.delivered > 0;
  report.row(
    'SSE 100 subs / 4 procs, 1000 ev/s: delivered',
    `${fmt(large.delivered)} / ${fmt(large.expectedDeliveries)}`,
    'every event',
    passFail(complete),
  );
  const budget = BUDGETS.delivery100.p99Ms;
  report.row(
    'SSE delivery p99, 100 subs, 1000 ev/s',
    `${ms(large.latency.p99Ms)} (p50 ${ms(large.latency.p50Ms)})`,
    `≤ ${budget} ms`,
    passFail(large.latency.p99Ms <= budget),
  );
  report.results.delivery = { small, large };
}
