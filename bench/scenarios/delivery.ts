// POST → SSE delivery latency: subscribers in processes of their own (subscribe-worker.ts)
// hold streams of one run while a producer process posts events stamped with their send time at
// a fixed rate; every subscriber must receive every acknowledged event, once. First 20 subscribers
// at 500 events/s, then 100 subscribers in 4 processes and 500 in MANY_PROCESSES at 1,000 events/s
// (the budgeted ones), then STALLED subscribers that never read (stall-worker.ts) while a few
// others read at 1,000 events/s: ingest and /health must go on answering, and the server's RSS
// must stay within budget and come back down once it has cut them off.
import { BUDGETS } from '../budgets.ts';
import { createRuns } from '../harness/control-http.ts';
import { bytes, fmt, ms, pct } from '../harness/format.ts';
import { failuresOf } from '../harness/ingest-window.ts';
import { HIST_BUCKET_MS, latencyOf } from '../harness/latency.ts';
import type { LoadJob, LoadReport } from '../harness/load-worker.ts';
import { rssBytes, sampleCpu } from '../harness/proc-stats.ts';
import { passFail, type Report } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import type { BenchServer } from '../harness/servers.ts';
import { probeServer, type ProbeSample } from '../harness/server-probe.ts';
import type { StallJob } from '../harness/stall-worker.ts';
import type { SubscribeJob, SubscribeReport } from '../harness/subscribe-worker.ts';
import { MEASURE_MS, START_DELAY_MS, WARMUP_MS } from '../harness/timing.ts';
import { LOAD_WORKER, STALL_WORKER, SUBSCRIBE_WORKER, Worker } from '../harness/workers.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export const title = 'POST → SSE delivery (send time stamped in the payload)';

const PRODUCER_CONNECTIONS = 8;
/** How long after the last acknowledgement subscribers may take to receive everything. */
const DELIVERY_GRACE_MS = 5_000;
/** Processes the 500 reading subscribers are spread over. */
const MANY_PROCESSES = 5;
const STALLED = 500;
/** Subscribers that do read while the stalled ones hold their streams. */
const STALLED_READERS = 20;
/** ~2 MB/s per stalled subscriber at 1,000 events/s: past the backlog bound in about 5 s. */
const STALLED_PAD_BYTES = 2000;
/** How long after the last event the server may take to cut every stalled subscriber off. */
const CUT_OFF_TIMEOUT_MS = 10_000;
/** How long the RSS is watched after the last stalled subscriber is cut off. */
const RSS_SETTLE_MS = 2_000;

interface DeliveryLoad {
  label: string;
  subscribers: number;
  processes: number;
  ratePerS: number;
  /** Filler per event, bytes. */
  padBytes?: number;
}

async function measureDelivery(
  report: Report,
  server: BenchServer,
  { label, subscribers, processes, ratePerS, padBytes }: DeliveryLoad,
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
      return (await w.next<{ report: SubscribeReport }>('report', DELIVERY_GRACE_MS + 30_000))
        .report;
    }),
  );
  const received = reports.flatMap((r) => r.received);
  const subscriberCpuMs = reports.reduce((sum, r) => sum + r.cpuMs, 0);
  const delivered = received.reduce((sum, n) => sum + n, 0);
  const result = {
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

type DeliveryResult = Awaited<ReturnType<typeof measureDelivery>>;

/** The delivered row and the p99 row of one measurement, against `p99Ms`. */
function reportDelivery(report: Report, result: DeliveryResult, p99Ms: number): void {
  const { subscribers, processes, ratePerS } = result;
  report.row(
    `SSE ${subscribers} subs / ${processes} procs, ${ratePerS} ev/s: delivered`,
    `${fmt(result.delivered)} / ${fmt(result.expectedDeliveries)}`,
    'every event',
    passFail(result.fewestReceived >= result.acknowledged && result.delivered > 0),
  );
  report.row(
    `SSE delivery p99, ${subscribers} subs, ${ratePerS} ev/s`,
    `${ms(result.latency.p99Ms)} (p50 ${ms(result.latency.p50Ms)})`,
    `≤ ${p99Ms} ms`,
    passFail(result.latency.p99Ms <= p99Ms),
  );
}

/**
 * STALLED subscribers that never read hold streams of a run while a few others read it and a
 * producer posts 1,000 events/s; the events carry STALLED_PAD_BYTES of filler so that every
 * stalled subscriber passes the server's backlog bound (MAX_SUBSCRIBER_BACKLOG_BYTES) inside the
 * window: the worst case of memory, not a fraction of it. A probe times /health and reads the
 * server's RSS throughout, and on until the RSS settles after the server has cut them all off.
 */
async function measureStalled(report: Report, server: BenchServer) {
  const load: DeliveryLoad = {
    label: 'stalled',
    subscribers: STALLED_READERS,
    processes: 1,
    ratePerS: 1000,
    padBytes: STALLED_PAD_BYTES,
  };
  const runId = `bench-sse-${load.label}`;
  await createRuns(server.url, [runId]);
  const rssBefore = rssBytes(server.pid);
  const [stall] = await Worker.start(STALL_WORKER, 1);
  const job: StallJob = { url: server.url, runId, subscribers: STALLED };
  stall!.send(job);
  await stall!.next('ready', 30_000);
  const probe = probeServer(server);
  let cutOff = false;
  let samples: ProbeSample[];
  let delivery: DeliveryResult;
  try {
    delivery = await measureDelivery(report, server, load);
    cutOff = await probe.until(0, CUT_OFF_TIMEOUT_MS);
    await sleep(RSS_SETTLE_MS);
  } finally {
    samples = await probe.stop();
    stall!.send({ cmd: 'finish' });
    await stall!.next('report', 30_000);
  }
  const during = samples.filter((s) => s.at >= delivery.startAt && s.at <= delivery.endAt);
  const health = latencyOf([
    during.map((s): [number, number] => [Math.round(s.healthMs / HIST_BUCKET_MS), 1]),
  ]);
  const result = {
    stalled: STALLED,
    padBytes: STALLED_PAD_BYTES,
    delivery,
    health,
    healthFailures: samples.filter((s) => s.subscribers < 0).length,
    rssBeforeBytes: rssBefore,
    rssPeakBytes: Math.max(rssBefore, ...samples.map((s) => s.rssBytes)),
    rssAfterBytes: samples.at(-1)!.rssBytes,
    cutOff,
    cutOffMs: (samples.find((s) => s.subscribers === 0)?.at ?? NaN) - delivery.startAt,
  };
  if (result.healthFailures > 0) {
    report.broken(`SSE stalled: /health failed ${result.healthFailures} times`);
  }
  console.log(
    `  ${STALLED} stalled subscribers: ${cutOff ? `all cut off ${ms(result.cutOffMs)} after the first event` : `not all cut off within ${CUT_OFF_TIMEOUT_MS / 1000} s`}; ` +
      `/health p50 ${ms(health.p50Ms)} p99 ${ms(health.p99Ms)} max ${ms(health.maxMs)}; ` +
      `RSS ${bytes(rssBefore)} before, ${bytes(result.rssPeakBytes)} at peak, ${bytes(result.rssAfterBytes)} after`,
  );
  return result;
}

export async function run({ report, sharedServer }: Bench): Promise<void> {
  const ours = await sharedServer();
  const small = await measureDelivery(report, ours, {
    label: '20',
    subscribers: 20,
    processes: 1,
    ratePerS: 500,
  });
  report.row(
    'SSE delivery p99, 20 subs, 500 ev/s',
    `${ms(small.latency.p99Ms)} (p50 ${ms(small.latency.p50Ms)})`,
    'report only',
  );
  const large = await measureDelivery(report, ours, {
    label: '100',
    subscribers: 100,
    processes: 4,
    ratePerS: 1000,
  });
  reportDelivery(report, large, BUDGETS.delivery100.p99Ms);
  const many = await measureDelivery(report, ours, {
    label: '500',
    subscribers: 500,
    processes: MANY_PROCESSES,
    ratePerS: 1000,
  });
  reportDelivery(report, many, BUDGETS.delivery500.p99Ms);
  const stalled = await measureStalled(report, ours);
  const { delivery } = stalled;
  report.row(
    `${STALLED} stalled subs, 1000 ev/s: acked, read by ${STALLED_READERS}`,
    `${fmt(delivery.acknowledged)} / ${fmt(delivery.sent)}, ${fmt(delivery.delivered)} / ${fmt(delivery.expectedDeliveries)}`,
    'every event',
    passFail(
      delivery.acknowledged === delivery.sent && delivery.fewestReceived >= delivery.acknowledged,
    ),
  );
  report.row(
    `ack and /health p99, ${STALLED} stalled subs`,
    `${ms(delivery.ack.p99Ms)}, ${ms(stalled.health.p99Ms)} (max ${ms(delivery.ack.maxMs)}, ${ms(stalled.health.maxMs)})`,
    'report only',
  );
  const rssBudget = BUDGETS.delivery500.rssMb * 1024 * 1024;
  report.row(
    `server peak RSS, ${STALLED} stalled subs`,
    bytes(stalled.rssPeakBytes),
    `≤ ${BUDGETS.delivery500.rssMb} MB`,
    passFail(stalled.rssPeakBytes <= rssBudget),
  );
  report.row(
    `server RSS after they are cut off`,
    `${bytes(stalled.rssAfterBytes)} (${bytes(stalled.rssBeforeBytes)} before)`,
    'back down',
    passFail(
      stalled.cutOff &&
        stalled.rssAfterBytes <= (stalled.rssBeforeBytes + stalled.rssPeakBytes) / 2,
    ),
  );
  report.results.delivery = { small, large, many, stalled };
}
