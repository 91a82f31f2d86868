// Batch ingest: arrays of 1000 events per POST, closed loop, into the shared server.
import { BUDGETS } from '../budgets.ts';
import { fmt } from '../harness/format.ts';
import { describeIngest, measureIngest } from '../harness/ingest-window.ts';
import { noiseNote } from '../harness/proc-stats.ts';
import { passFail } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';

const BATCH_SIZE = 1000;

export const title = `batch ingest, ${BATCH_SIZE} events per POST`;

export async function run({ report, sharedServer }: Bench): Promise<void> {
  const ours = await sharedServer();
  const budget = BUDGETS.batch.eventsPerS;
  const batch = await measureIngest(report, ours, 'batch', {
    mode: 'batch',
    client: 'http',
    processes: 1,
    connections: 4,
    batchSize: BATCH_SIZE,
    verify: true,
  });
  console.log(`  ours: ${describeIngest(batch)}`);
  report.results.batch = batch;
  report.row(
    `batch ingest (${BATCH_SIZE}/POST)`,
    `${fmt(batch.eventsPerS)} ev/s`,
    `≥ ${fmt(budget)} ev/s`,
    passFail(batch.eventsPerS >= budget) + noiseNote(batch.otherCores),
  );
}
