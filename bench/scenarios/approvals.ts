// Approvals: how fast a decision reaches the producer holding the run's control channel (POST of
// the decision → the channel message, p50 / p99), and whether 1,000 pending approvals across runs
// (each with a deadline timer) slow single-event ingest, measured before and after on one server.
import { request, type IncomingMessage } from 'node:http';
import { SseParser } from '../../shared/sse.ts';
import { BUDGETS } from '../budgets.ts';
import { createRuns, http, json } from '../harness/control-http.ts';
import { fmt, ms } from '../harness/format.ts';
import { describeIngest, measureIngest } from '../harness/ingest-window.ts';
import { addToHistogram, latencyOf, preciseNow } from '../harness/latency.ts';
import { passFail } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';

export const title = 'approvals: decision → producer, and ingest with 1,000 pending';

const DECISIONS = 500;
const PENDING_RUNS = 1000;
/** Ingest with the approvals pending may be this much slower before it counts as slowed: noise. */
const INGEST_NOISE_RATIO = 0.9;
const LOAD = {
  mode: 'post',
  client: 'lean',
  processes: 1,
  connections: 8,
  batchSize: 1000,
  verify: true,
} as const;

/** Holds a run's control channel and resolves each approval message by its approvalId. */
async function holdChannel(url: string, runId: string) {
  const waiters = new Map<string, () => void>();
  const parser = new SseParser();
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`${url}/api/runs/${runId}/control`, { agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
  response.setEncoding('utf8').on('data', (chunk: string) => {
    for (const message of parser.push(chunk)) {
      const data = JSON.parse(message.data) as { action?: string; approvalId?: string };
      if (data.action === 'approval') waiters.get(data.approvalId!)?.();
    }
  });
  return {
    next: (approvalId: string) => new Promise<void>((resolve) => waiters.set(approvalId, resolve)),
    close: () => response.destroy(),
  };
}

export async function run({ report, sharedServer }: Bench): Promise<void> {
  const server = await sharedServer();
  const { url } = server;

  // Decision → producer.
  const runId = 'bench-approvals-producer';
  await createRuns(url, [runId]);
  const channel = await holdChannel(url, runId);
  const histogram = new Map<number, number>();
  try {
    for (let i = 0; i < DECISIONS; i++) {
      const approvalId = `a${i}`;
      await json('POST', `${url}/api/runs/${runId}/events`, {
        type: 'approval.requested',
        payload: { approvalId, title: `Go on with ${i}?` },
      });
      const received = channel.next(approvalId);
      const sentAt = preciseNow();
      const [answer] = await Promise.all([
        http('POST', `${url}/api/runs/${runId}/approvals/${approvalId}`, { decision: 'approve' }),
        received,
      ]);
      addToHistogram(histogram, preciseNow() - sentAt);
      if (answer.status !== 200) report.broken(`decision ${i} answered ${answer.status}`);
    }
  } finally {
    channel.close();
  }
  const latency = latencyOf([[...histogram]]);
  const budget = BUDGETS.approvals.p99Ms;
  console.log(
    `  ${DECISIONS} decisions: p50 ${ms(latency.p50Ms)} p99 ${ms(latency.p99Ms)} max ${ms(latency.maxMs)}`,
  );
  report.row(
    'approval decision → producer p99',
    `${ms(latency.p99Ms)} (p50 ${ms(latency.p50Ms)})`,
    `≤ ${budget} ms`,
    passFail(latency.p99Ms <= budget),
  );

  // Ingest with and without 1,000 pending approvals.
  const without = await measureIngest(report, server, 'approvals-none', LOAD);
  console.log(`  ingest, no approval pending: ${describeIngest(without)}`);
  const pendingIds = Array.from({ length: PENDING_RUNS }, (_, i) => `bench-pending-${i}`);
  await createRuns(url, pendingIds);
  for (const id of pendingIds)
    await json('POST', `${url}/api/runs/${id}/events`, {
      type: 'approval.requested',
      payload: { approvalId: 'gate', title: 'Deploy?', timeoutS: 3600 },
    });
  const listed = await http('GET', `${url}/api/approvals`);
  const pending = (JSON.parse(listed.text) as unknown[]).length;
  if (pending < PENDING_RUNS) report.broken(`${pending} of ${PENDING_RUNS} approvals pending`);
  const withPending = await measureIngest(report, server, 'approvals-1000', LOAD);
  console.log(`  ingest, ${fmt(pending)} pending: ${describeIngest(withPending)}`);
  const ratio = withPending.eventsPerS / without.eventsPerS;
  report.row(
    `ingest with ${fmt(PENDING_RUNS)} approvals pending`,
    `${fmt(withPending.eventsPerS)} ev/s vs ${fmt(without.eventsPerS)} (${fmt(ratio, 2)}×)`,
    `≥ ${INGEST_NOISE_RATIO}× without`,
    passFail(ratio >= INGEST_NOISE_RATIO),
  );
  report.row('GET /api/approvals, 1,000 pending', ms(listed.ms), 'report only');
  report.results.approvals = { latency, without, withPending, ratio, listMs: listed.ms };
}
