// SSE subscribers for the bench's delivery scenario, forked by the bench so they read in
// processes of their own. Each subscriber holds one connection to GET /api/runs/:id/stream, reads
// every `bench.latency` event the producer posts, and records
//   latency = (time the chunk holding it arrived) - (payload.sentAt, stamped just before the POST),
// both taken as performance.timeOrigin + performance.now(): the same wall clock in every process
// on this machine, with sub-millisecond precision. A dropped connection resumes with
// Last-Event-ID, as a real client would, and is counted.
//
// Protocol: {type:'online'} → job → {type:'ready'} once every subscriber has its 200 →
// {cmd:'finish', expected} → {type:'report'} once each subscriber holds `expected` distinct events
// or the deadline passes.
import { request } from 'node:http';
import { pathToFileURL } from 'node:url';
import { SseParser, type SseMessage } from '../../shared/sse.ts';
import { addToHistogram, preciseNow } from './latency.ts';
import { runApiPath } from '../../shared/run-url.ts';

export interface SubscribeJob {
  url: string;
  runId: string;
  subscribers: number;
  /** Upper bound on payload.i, to size each subscriber's seen-set. */
  maxEvents: number;
}

export interface SubscribeReport {
  /** Distinct events each subscriber received. */
  received: number[];
  duplicates: number;
  reconnects: number;
  truncated: number;
  firstErrors: string[];
  /** This process's CPU time from 'ready' to 'finish', ms. */
  cpuMs: number;
  latencyHistogram: [number, number][];
}

class Subscriber {
  seen: Uint8Array;
  distinct = 0;
  duplicates = 0;
  reconnects = 0;
  truncated = 0;
  lastEventId: string | undefined;
  closing = false;
  #abort: (() => void) | undefined;
  readonly job: SubscribeJob;
  readonly shared: { histogram: Map<number, number>; errors: string[] };

  constructor(job: SubscribeJob, shared: { histogram: Map<number, number>; errors: string[] }) {
    this.job = job;
    this.shared = shared;
    this.seen = new Uint8Array(job.maxEvents);
  }

  /** Resolves when the stream answered 200; rejects if it answered anything else. */
  connect(): Promise<void> {
    const target = new URL(this.job.url);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
    return new Promise((resolve, reject) => {
      let ended = false;
      const dropped = () => {
        if (ended) return;
        ended = true;
        this.#dropped();
      };
      const req = request(
        {
          agent: false,
          host: target.hostname,
          port: target.port,
          path: runApiPath(this.job.runId, '/stream'),
          headers,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`stream answered HTTP ${res.statusCode}`));
            return;
          }
          resolve();
          const parser = new SseParser();
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const arrived = preciseNow();
            for (const message of parser.push(chunk)) this.#take(message, arrived);
            if (parser.lastEventId !== undefined) this.lastEventId = parser.lastEventId;
          });
          res.on('error', () => {});
          res.on('close', dropped);
        },
      );
      req.on('error', (error) => {
        reject(error);
        dropped();
      });
      this.#abort = () => req.destroy();
      req.end();
    });
  }

  #take(message: SseMessage, arrived: number): void {
    if (message.event === 'truncated') {
      this.truncated++;
      return;
    }
    const event = JSON.parse(message.data) as {
      type: string;
      payload: { i: number; sentAt: number; warm: boolean };
    };
    if (event.type !== 'bench.latency') return;
    const { i, sentAt, warm } = event.payload;
    if (this.seen[i]) {
      this.duplicates++;
      return;
    }
    this.seen[i] = 1;
    this.distinct++;
    if (!warm) addToHistogram(this.shared.histogram, arrived - sentAt);
  }

  #dropped(): void {
    if (this.closing) return;
    this.reconnects++;
    if (this.shared.errors.length < 5) this.shared.errors.push('stream closed by the server');
    setTimeout(() => {
      if (!this.closing) this.connect().catch((error: unknown) => this.#note(error));
    }, 100);
  }

  #note(error: unknown): void {
    if (this.shared.errors.length < 5) this.shared.errors.push(String(error));
  }

  close(): void {
    this.closing = true;
    this.#abort?.();
  }
}

async function main(job: SubscribeJob): Promise<void> {
  const shared = { histogram: new Map<number, number>(), errors: [] as string[] };
  const subscribers = Array.from({ length: job.subscribers }, () => new Subscriber(job, shared));
  await Promise.all(subscribers.map((s) => s.connect()));
  process.send!({ type: 'ready' });
  const cpuAtReady = process.cpuUsage();

  const { expected, timeoutMs } = await new Promise<{ expected: number; timeoutMs: number }>(
    (resolve) => process.once('message', resolve),
  );
  const cpu = process.cpuUsage(cpuAtReady);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && subscribers.some((s) => s.distinct < expected)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const s of subscribers) s.close();
  const report: SubscribeReport = {
    received: subscribers.map((s) => s.distinct),
    duplicates: subscribers.reduce((sum, s) => sum + s.duplicates, 0),
    reconnects: subscribers.reduce((sum, s) => sum + s.reconnects, 0),
    truncated: subscribers.reduce((sum, s) => sum + s.truncated, 0),
    firstErrors: shared.errors,
    cpuMs: (cpu.user + cpu.system) / 1000,
    latencyHistogram: [...shared.histogram],
  };
  process.send!({ type: 'report', report }, () => process.exit(0));
}

if (process.send && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  process.once('message', (job: SubscribeJob) => {
    main(job).catch((error: unknown) => {
      process.send!({ type: 'error', error: String(error) }, () => process.exit(1));
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'online' });
}
