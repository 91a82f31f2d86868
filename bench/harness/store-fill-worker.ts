// Fills the `store` scenario's store (harness/store-shape.ts) through a running server, forked by
// the bench so the fill never shares an event loop with the server. Each run is made as the CLI
// makes one: POST /api/runs with a title and metadata, then its events, each with a producer id
// (a random UUID) and a timestamp, here in arrays of up to `batchSize` through the batch route,
// the last one run.completed or run.error unless the run is still running.
//
// Protocol: {type:'online'} → job → {type:'report'} (or {type:'error'}), then exit.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { runApiPath } from '../../shared/run-url.ts';
import { commitOf, runShape, type RunShape } from './store-shape.ts';

export interface StoreFillJob {
  url: string;
  /** Indices (store-shape.ts) of the runs this worker makes, in order. */
  runs: number[];
  connections: number;
  batchSize: number;
}

export interface StoreFillReport {
  runs: number;
  events: number;
  requests: number;
  failed: number;
  firstErrors: string[];
  cpuMs: number;
  elapsedMs: number;
}

const BRANCHES = ['main', 'release/1.4', 'fix/flaky-upload', 'feat/queue-retries'];
const HOSTS = ['ci-runner-3', 'ci-runner-7', 'dev-laptop', 'build-box'];

function post(agent: Agent, target: URL, path: string, body: Buffer): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        // A batch's 201 answer echoes every record; only a failure's body is worth keeping.
        if (status >= 300) res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        else res.resume();
        res.on('end', () =>
          resolve(status >= 300 ? `HTTP ${status} on ${path}: ${text.slice(0, 200)}` : undefined),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Event `k` (1-based) of a run of `n`: a progress step, a tool call and its result, output, a metric. */
function eventOf(shape: RunShape, k: number, ts: string): object {
  const n = shape.events;
  if (k === n && shape.ending === 'completed')
    return { id: randomUUID(), ts, type: 'run.completed', payload: { summary: `${n} events` } };
  if (k === n && shape.ending === 'error') {
    const payload = { message: `step ${k} failed: npm test exited with code 1` };
    return { id: randomUUID(), ts, type: 'run.error', level: 'error', payload };
  }
  const event = { id: randomUUID(), ts, type: '', payload: {} as object };
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
  const target = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const report: StoreFillReport = {
    runs: 0,
    events: 0,
    requests: 0,
    failed: 0,
    firstErrors: [],
    cpuMs: 0,
    elapsedMs: 0,
  };
  const send = async (path: string, body: unknown): Promise<boolean> => {
    report.requests++;
    const failure = await post(agent, target, path, Buffer.from(JSON.stringify(body))).catch(
      (error: unknown) => String(error),
    );
    if (failure === undefined) return true;
    report.failed++;
    if (report.firstErrors.length < 5) report.firstErrors.push(failure);
    return false;
  };
  const cpuAtStart = process.cpuUsage();
  const began = performance.now();
  let next = 0;
  const connection = async () => {
    while (next < job.runs.length) {
      const i = job.runs[next++]!;
      const shape = runShape(i);
      const branch = BRANCHES[i % BRANCHES.length]!;
      const created = await send('/api/runs', {
        id: shape.id,
        title: `${i % 3 === 0 ? 'agent: fix the failing test' : 'ci: npm test'} on ${branch}`,
        metadata: { branch, host: HOSTS[i % HOSTS.length], commit: commitOf(i) },
      });
      if (!created) continue;
      report.runs++;
      const path = runApiPath(shape.id, '/events');
      for (let from = 1; from <= shape.events; from += job.batchSize) {
        const ts = new Date().toISOString();
        const batch: object[] = [];
        for (let k = from; k < from + job.batchSize && k <= shape.events; k++)
          batch.push(eventOf(shape, k, ts));
        if (await send(path, batch)) report.events += batch.length;
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, connection));
  agent.destroy();
  const cpu = process.cpuUsage(cpuAtStart);
  report.cpuMs = (cpu.user + cpu.system) / 1000;
  report.elapsedMs = performance.now() - began;
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
