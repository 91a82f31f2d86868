// Fills the `store` scenario's store (harness/store-shape.ts) with the server's own store code
// (server/store.ts) in a process of its own: each run is made as POST /api/runs makes it
// (Store.createRun with a title and metadata), then its events are appended as the batch route
// appends them once they are validated (Store.appendEvents, up to `batchSize` at a time), each with
// a producer id (a random UUID, as the CLI's sender gives each event) and a timestamp, the last one
// run.completed or run.error unless the run is still running. The store is then closed as the
// server closes it on SIGTERM. The files are the server's own, byte for byte; what is left out is
// HTTP and validation, which would take this machine minutes for 10,000,000 events and are
// measured by the ingest and batch scenarios.
//
// Protocol: {type:'online'} → job → {type:'report'} (or {type:'error'}), then exit.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Store } from '../../server/store.ts';
import type { EventInput } from '../../shared/types.ts';
import { STORE_RUNS, commitOf, runShape, type RunShape } from './store-shape.ts';

export interface StoreFillJob {
  dataDir: string;
  /** Runs being filled at once, so appends are grouped as concurrent requests group them. */
  concurrency: number;
  batchSize: number;
}

export interface StoreFillReport {
  runs: number;
  events: number;
  refused: number;
  firstErrors: string[];
  /** Fill, then close (checkpoint, compaction, fsync), ms. */
  fillMs: number;
  closeMs: number;
}

const BRANCHES = ['main', 'release/1.4', 'fix/flaky-upload', 'feat/queue-retries'];
const HOSTS = ['ci-runner-3', 'ci-runner-7', 'dev-laptop', 'build-box'];

/** Event `k` (1-based) of a run of `n`: a progress step, a tool call and its result, output, a metric. */
function eventOf(shape: RunShape, k: number, ts: string): EventInput {
  const n = shape.events;
  if (k === n && shape.ending === 'completed')
    return { id: randomUUID(), ts, type: 'run.completed', payload: { summary: `${n} events` } };
  if (k === n && shape.ending === 'error') {
    const payload = { message: `step ${k} failed: npm test exited with code 1` };
    return { id: randomUUID(), ts, type: 'run.error', level: 'error', payload };
  }
  const event: EventInput = { id: randomUUID(), ts, type: '', payload: {} };
  switch (k % 5) {
    case 0:
      event.type = 'task.progress';
      event.payload = { step: k, total: n, message: `step ${k} of ${n}` };
      break;
    case 1:
      event.type = 'tool.called';
      event.payload = {
        callId: `call-${k}`,
        tool: 'Bash',
        input: { command: 'npm test -- store' },
      };
      break;
    case 2:
      event.type = 'tool.result';
      event.payload = { callId: `call-${k - 1}`, tool: 'Bash', durationMs: k % 997, output: 'ok' };
      break;
    case 3:
      event.type = 'agent.output';
      event.payload = { stream: 'stdout', line: `  ✓ store appends batch ${k} (3 ms)` };
      break;
    default:
      event.type = 'metric';
      event.payload = { name: 'tokens.output', value: k % 4096 };
  }
  return event;
}

async function fill(job: StoreFillJob): Promise<StoreFillReport> {
  const store = new Store(job.dataDir, { fsync: 'batch', warn: (line) => console.error(line) });
  const report: StoreFillReport = {
    runs: 0,
    events: 0,
    refused: 0,
    firstErrors: [],
    fillMs: 0,
    closeMs: 0,
  };
  const began = performance.now();
  let next = 0;
  const filler = async () => {
    while (next < STORE_RUNS) {
      const i = next++;
      const shape = runShape(i);
      const branch = BRANCHES[i % BRANCHES.length]!;
      store.createRun({
        id: shape.id,
        title: `${i % 3 === 0 ? 'agent: fix the failing test' : 'ci: npm test'} on ${branch}`,
        metadata: { branch, host: HOSTS[i % HOSTS.length]!, commit: commitOf(i) },
      });
      report.runs++;
      for (let from = 1; from <= shape.events; from += job.batchSize) {
        const ts = new Date().toISOString();
        const batch: EventInput[] = [];
        for (let k = from; k < from + job.batchSize && k <= shape.events; k++)
          batch.push(eventOf(shape, k, ts));
        for (const result of await store.appendEvents(shape.id, batch)) {
          if ('refused' in result) {
            report.refused++;
            if (report.firstErrors.length < 5) report.firstErrors.push(result.refused.message);
          } else report.events++;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, filler));
  report.fillMs = performance.now() - began;
  const closing = performance.now();
  store.close();
  report.closeMs = performance.now() - closing;
  return report;
}

if (process.send && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  process.once('message', (job: StoreFillJob) => {
    fill(job).then(
      (report) => process.send!({ type: 'report', report }, () => process.exit(0)),
      (error: unknown) => {
        process.send!({ type: 'error', error: String(error) }, () => process.exit(1));
      },
    );
  });
  // If the bench dies, its load must not outlive it.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'online' });
}
