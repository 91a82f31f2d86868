// POST → SSE delivery (harness/delivery-window.ts): 20 subscribers at 500 events/s, then 100 in 4
// processes and 500 in MANY_PROCESSES at 1,000 events/s (the budgeted ones). Then two waves of
// STALLED subscribers that never read (stall-worker.ts) while STALLED_READERS others read at
// 1,000 events/s: the first holds the live end of the run the events go to, and the server must
// cut it off; the second stalls mid-replay of that run's history (~17 MB). Throughout, a probe
// times /health and reads the server's RSS: ingest and /health must go on answering, the RSS must
// stay within budget, and once the stalled subscribers are gone the server must hold nothing for
// them.
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_SUBSCRIBER_BACKLOG_BYTES } from '../../shared/constants.ts';
import { BUDGETS } from '../budgets.ts';
import { createRuns } from '../harness/control-http.ts';
import {
  deliveredAll,
  measureDelivery,
  type DeliveryLoad,
  type DeliveryResult,
} from '../harness/delivery-window.ts';
import { bytes, fmt, ms } from '../harness/format.ts';
import { HIST_BUCKET_MS, latencyOf, type Latency } from '../harness/latency.ts';
import { noiseNote, rssBytes } from '../harness/proc-stats.ts';
import { passFail, type Report } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { probeServer } from '../harness/server-probe.ts';
import type { BenchServer } from '../harness/servers.ts';
import type { StallJob } from '../harness/stall-worker.ts';
import { MEASURE_MS, WARMUP_MS } from '../harness/timing.ts';
import { STALL_WORKER, Worker } from '../harness/workers.ts';

export const title = 'POST → SSE delivery (send time stamped in the payload)';

/** Processes the 500 reading subscribers are spread over. */
const MANY_PROCESSES = 5;
const STALLED = 500;
/** Subscribers that do read while the stalled ones hold their streams. */
const STALLED_READERS = 20;
const STALLED_RATE_PER_S = 1000;
/**
 * Filler per event while subscribers stall: the window's events carry twice the server's backlog
 * bound, so every stalled subscriber at the live end passes it (and is cut off) inside the window,
 * the worst case of memory rather than a fraction of it.
 */
const STALLED_PAD_BYTES = Math.ceil(
  (2 * MAX_SUBSCRIBER_BACKLOG_BYTES) / ((STALLED_RATE_PER_S * (WARMUP_MS + MEASURE_MS)) / 1000),
);
/** How long after the last event the stalled subscribers may take to be gone. */
const GONE_TIMEOUT_MS = 10_000;
/** How long the RSS is watched after the last stalled subscriber is gone. */
const RSS_SETTLE_MS = 1_000;

interface StalledWave {
  /** Where the stalled subscribers stop reading. */
  name: string;
  /** The run the events go to, and the readers read: bench-sse-<label>. */
  label: string;
  /** The run the stalled subscribers hold from seq 1. */
  stalledRunId: string;
  /** Whether the server must cut them off itself (at the live end), or the bench closes them. */
  serverCutsOff: boolean;
}

interface StalledResult {
  wave: string;
  serverCutsOff: boolean;
  delivery: DeliveryResult;
  health: Latency;
  rssBeforeBytes: number;
  rssPeakBytes: number;
  rssAfterBytes: number;
  /** Whether the server cut them off itself, and when (ms after the first event). */
  cutOff: boolean;
  cutOffMs: number;
  /** Subscribers and bytes the server held for streams once they were gone. */
  heldAfter: { subscribers: number; bufferedBytes: number };
}

async function measureStalled(
  report: Report,
  server: BenchServer,
  wave: StalledWave,
): Promise<StalledResult> {
  const load: DeliveryLoad = {
    label: wave.label,
    subscribers: STALLED_READERS,
    processes: 1,
    ratePerS: STALLED_RATE_PER_S,
    padBytes: STALLED_PAD_BYTES,
  };
  await createRuns(server.url, [wave.stalledRunId]);
  const rssBefore = rssBytes(server.pid);
  const [stall] = await Worker.start(STALL_WORKER, 1);
  const job: StallJob = { url: server.url, runId: wave.stalledRunId, subscribers: STALLED };
  stall!.send(job);
  await stall!.next('ready', 30_000);
  const probe = probeServer(server);
  try {
    const delivery = await measureDelivery(report, server, load);
    const cutOff = wave.serverCutsOff && (await probe.until(0, GONE_TIMEOUT_MS));
    stall!.send({ cmd: 'finish' });
    await stall!.next('report', 30_000);
    await probe.until(0, GONE_TIMEOUT_MS);
    await sleep(RSS_SETTLE_MS);
    const samples = probe.stop();
    const during = samples.filter((s) => s.at >= delivery.startAt && s.at <= delivery.endAt);
    const last = samples.at(-1)!;
    const result: StalledResult = {
      wave: wave.name,
      serverCutsOff: wave.serverCutsOff,
      delivery,
      health: latencyOf([
        during.map((s): [number, number] => [Math.round(s.healthMs / HIST_BUCKET_MS), 1]),
      ]),
      rssBeforeBytes: rssBefore,
      rssPeakBytes: Math.max(rssBefore, ...samples.map((s) => s.rssBytes)),
      rssAfterBytes: last.rssBytes,
      cutOff,
      cutOffMs:
        (samples.find((s) => s.subscribers >= 0 && s.subscribers <= STALLED_READERS)?.at ?? NaN) -
        delivery.startAt,
      heldAfter: { subscribers: last.subscribers, bufferedBytes: last.bufferedBytes },
    };
    const failures = samples.filter((s) => s.subscribers < 0).length;
    if (failures > 0) report.broken(`SSE ${wave.label}: /health failed ${failures} times`);
    const gone = !wave.serverCutsOff
      ? 'closed by the bench after the window'
      : cutOff
        ? `all cut off by the server ${ms(result.cutOffMs)} after the first event`
        : `not all cut off within ${GONE_TIMEOUT_MS / 1000} s of the last event`;
    console.log(
      `  ${STALLED} subscribers stalled ${wave.name}: ${gone}; ` +
        `/health p50 ${ms(result.health.p50Ms)} p99 ${ms(result.health.p99Ms)} ` +
        `max ${ms(result.health.maxMs)}; RSS ${bytes(rssBefore)} before, ` +
        `${bytes(result.rssPeakBytes)} at peak, ${bytes(result.rssAfterBytes)} after`,
    );
    return result;
  } finally {
    probe.stop();
    if (stall!.child.exitCode === null) stall!.child.kill();
  }
}

/** The delivered row and the p99 row of one measurement, against `p99Ms`. */
function reportDelivery(report: Report, result: DeliveryResult, p99Ms: number): void {
  const { subscribers, processes, ratePerS } = result;
  report.row(
    `SSE ${subscribers} subs / ${processes} procs, ${ratePerS} ev/s: delivered`,
    `${fmt(result.delivered)} / ${fmt(result.expectedDeliveries)}`,
    'every event',
    passFail(deliveredAll(result)),
  );
  report.row(
    `SSE delivery p99, ${subscribers} subs, ${ratePerS} ev/s`,
    `${ms(result.latency.p99Ms)} (p50 ${ms(result.latency.p50Ms)})`,
    `≤ ${p99Ms} ms`,
    passFail(result.latency.p99Ms <= p99Ms) + noiseNote(result.otherCores),
  );
}

function reportStalled(report: Report, waves: StalledResult[]): void {
  const each = (text: (wave: StalledResult) => string) =>
    waves.map((w) => `${w.wave}: ${text(w)}`).join('; ');
  report.row(
    `${STALLED} stalled subs, ${STALLED_RATE_PER_S} ev/s: acked, read by ${STALLED_READERS}`,
    each(
      ({ delivery: d }) =>
        `${fmt(d.acknowledged)} / ${fmt(d.sent)}, ${fmt(d.delivered)} / ${fmt(d.expectedDeliveries)}`,
    ),
    'every event',
    passFail(
      waves.every((w) => w.delivery.acknowledged === w.delivery.sent && deliveredAll(w.delivery)),
    ),
  );
  report.row(
    `ack and /health p99, ${STALLED} stalled subs`,
    each((w) => `${ms(w.delivery.ack.p99Ms)}, ${ms(w.health.p99Ms)}`),
    'report only',
  );
  const peak = Math.max(...waves.map((w) => w.rssPeakBytes));
  report.row(
    `server peak RSS, ${STALLED} stalled subs`,
    each((w) => bytes(w.rssPeakBytes)),
    `≤ ${BUDGETS.delivery500.rssMb} MB`,
    passFail(peak <= BUDGETS.delivery500.rssMb * 1024 * 1024),
  );
  report.row(
    `once they are gone: streams held, RSS`,
    each(
      (w) =>
        `${w.heldAfter.subscribers} / ${bytes(w.heldAfter.bufferedBytes)}, ${bytes(w.rssAfterBytes)}`,
    ),
    'none / 0 B',
    passFail(
      waves.every(
        (w) =>
          (w.cutOff || !w.serverCutsOff) &&
          w.heldAfter.subscribers === 0 &&
          w.heldAfter.bufferedBytes === 0,
      ),
    ),
  );
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
  const atLiveEnd = await measureStalled(report, ours, {
    name: 'at the live end',
    label: 'stalled',
    stalledRunId: 'bench-sse-stalled',
    serverCutsOff: true,
  });
  const midReplay = await measureStalled(report, ours, {
    name: 'mid-replay',
    label: 'stalled-replay',
    stalledRunId: 'bench-sse-stalled',
    serverCutsOff: false,
  });
  reportStalled(report, [atLiveEnd, midReplay]);
  report.results.delivery = { small, large, many, stalled: [atLiveEnd, midReplay] };
}
