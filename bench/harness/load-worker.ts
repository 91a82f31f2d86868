// The bench's load generator, forked by harness/workers.ts so that the load never shares a
// process (or an event loop) with the server it measures. It announces itself with
// {type: 'online'}, takes one job, answers with {type: 'report'} and exits.
//
// Jobs:
// - 'post'    closed loop: `connections` keep-alive sockets, each POSTing one small event and
//             sending the next as soon as the answer is in, until the window ends. `client` picks
//             node:http's client or LeanConnection (below), which costs far less CPU per request.
// - 'batch'   the same with arrays of `batchSize` events per request.
// - 'fill'    'batch' with a fixed amount of work instead of a window: `batchesPerRun` arrays to
//             each of `runIds`, then stop.
// - 'produce' open loop: `ratePerS` single events carrying their send time (and `padBytes` of
//             filler, when given), for the SSE latency test; at most `connections` in flight, so a
//             slow answer delays the next send instead of inflating its measured latency.
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { addToHistogram, preciseNow } from './latency.ts';
import { runApiPath } from '../../shared/run-url.ts';

export type LoadJob =
  | {
      mode: 'post' | 'batch';
      url: string;
      runIds: string[];
      client: 'http' | 'lean';
      connections: number;
      batchSize: number;
      /** Date.now() at which every worker starts sending. */
      startAt: number;
      warmupMs: number;
      durationMs: number;
    }
  | {
      mode: 'fill';
      url: string;
      runIds: string[];
      connections: number;
      batchSize: number;
      batchesPerRun: number;
    }
  | {
      mode: 'produce';
      url: string;
      runId: string;
      connections: number;
      ratePerS: number;
      /** Filler in each event's payload, so that a stalled subscriber's backlog grows faster. */
      padBytes?: number;
      startAt: number;
      warmupMs: number;
      durationMs: number;
    };

export interface LoadReport {
  /** Requests answered 2xx (201/200), and the events they carried. */
  okRequests: number;
  okEvents: number;
  /** Requests answered otherwise, or that failed on the socket. */
  failed: number;
  firstErrors: string[];
  /** Events acknowledged inside the measurement window (post / batch). */
  windowEvents: number;
  /** This process's CPU time inside the window, ms (post / batch), or over the whole job. */
  cpuMs: number;
  elapsedMs: number;
  /** Acknowledgement latency: [bucket, count] pairs, bucket = round(ms / HIST_BUCKET_MS). */
  ackHistogram: [number, number][];
}

interface Answer {
  status: number;
  text: string;
}

function post(agent: Agent, target: URL, path: string, body: Buffer): Promise<Answer> {
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
        // Only a failure's body is worth keeping; a batch's 201 body is ~200 KB of echoes.
        if (status >= 300) res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        else res.resume();
        res.on('end', () => resolve({ status, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A keep-alive HTTP/1.1 client on one node:net socket with one request in flight. It writes the
 * request in one piece and reads only the status line and Content-Length of the answer, so it
 * costs a fraction of node:http's client per request: on a two-core machine, a node:http load
 * generator runs out of CPU long before a bare server does, which would hide the server's cost.
 */
class LeanConnection {
  #target: URL;
  #socket: Socket | undefined;
  #ready: Promise<void> | undefined;
  #head: Buffer | undefined;
  #status = 0;
  #remaining = 0;
  #chunked = false;
  #body = Buffer.alloc(0);
  #waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;

  constructor(target: URL) {
    this.#target = target;
  }

  #open(): Promise<void> {
    const socket = connect({ host: this.#target.hostname, port: Number(this.#target.port) });
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#head = undefined;
    this.#status = 0;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    const drop = (error: Error) => {
      if (this.#socket === socket) this.#socket = undefined;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(error);
    };
    socket.on('error', drop);
    socket.on('close', () => drop(new Error('connection closed by the server')));
    return new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  }

  async post(path: string, body: Buffer): Promise<Answer> {
    if (!this.#socket) this.#ready = this.#open();
    await this.#ready;
    const head =
      `POST ${path} HTTP/1.1\r\nhost: ${this.#target.host}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket!.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  #read(chunk: Buffer): void {
    while (chunk.length > 0) {
      if (this.#status === 0) {
        const head = this.#head ? Buffer.concat([this.#head, chunk]) : chunk;
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) {
          this.#head = head;
          return;
        }
        this.#head = undefined;
        const text = head.toString('latin1', 0, end);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
        this.#chunked = !length && /\r\ntransfer-encoding:[^\r]*chunked/i.test(text);
        if (!length && !this.#chunked) {
          this.#socket?.destroy(new Error(`answer with no length: ${text.split('\r\n')[0]}`));
          return;
        }
        this.#status = Number(text.slice(9, 12));
        this.#remaining = length ? Number(length[1]) : 0;
        this.#body = Buffer.alloc(0);
        chunk = head.subarray(end + 4);
      }
      if (this.#chunked) {
        // JSON never holds a raw CR or LF, so the last-chunk marker cannot occur inside a body.
        this.#body = Buffer.concat([this.#body, chunk]);
        const body = this.#body;
        const end =
          body.subarray(0, 5).toString('latin1') === '0\r\n\r\n'
            ? 0
            : body.indexOf('\r\n0\r\n\r\n');
        if (end === -1) return;
        const after = end === 0 ? 5 : end + 7;
        this.#body = body.subarray(0, end);
        chunk = body.subarray(after);
      } else {
        const take = Math.min(this.#remaining, chunk.length);
        if (this.#status >= 300) this.#body = Buffer.concat([this.#body, chunk.subarray(0, take)]);
        this.#remaining -= take;
        chunk = chunk.subarray(take);
        if (this.#remaining > 0) return;
      }
      const answer = { status: this.#status, text: this.#body.toString('utf8') };
      this.#status = 0;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.resolve(answer);
    }
  }

  close(): void {
    this.#socket?.destroy();
  }
}

function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));
}

function eventBody(step: number): string {
  return `{"type":"task.progress","payload":{"step":${step},"total":1000000,"message":"bench step ${step}"}}`;
}

function batchBody(size: number): Buffer {
  const events: string[] = [];
  for (let step = 1; step <= size; step++) events.push(eventBody(step));
  return Buffer.from(`[${events.join(',')}]`);
}

class Tally {
  okRequests = 0;
  okEvents = 0;
  failed = 0;
  firstErrors: string[] = [];
  windowEvents = 0;
  histogram = new Map<number, number>();

  fail(message: string): void {
    this.failed++;
    if (this.firstErrors.length < 5) this.firstErrors.push(message.split('\n')[0]!.slice(0, 200));
  }

  report(cpuMs: number, elapsedMs: number): LoadReport {
    return {
      okRequests: this.okRequests,
      okEvents: this.okEvents,
      failed: this.failed,
      firstErrors: this.firstErrors,
      windowEvents: this.windowEvents,
      cpuMs,
      elapsedMs,
      ackHistogram: [...this.histogram],
    };
  }
}

async function closedLoop(job: Extract<LoadJob, { mode: 'post' | 'batch' | 'fill' }>) {
  const target = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const tally = new Tally();
  const perRequest = job.mode === 'post' ? 1 : job.batchSize;
  const batch = job.mode === 'post' ? undefined : batchBody(job.batchSize);
  const paths = job.runIds.map((id) => runApiPath(id, '/events'));
  const totalRequests = job.mode === 'fill' ? job.batchesPerRun * job.runIds.length : Infinity;
  const startAt = job.mode === 'fill' ? Date.now() : job.startAt;
  const windowStart = job.mode === 'fill' ? startAt : startAt + job.warmupMs;
  const windowEnd = job.mode === 'fill' ? Infinity : windowStart + job.durationMs;

  let cpuAtStart = process.cpuUsage();
  let cpuInWindow: NodeJS.CpuUsage | undefined;
  if (job.mode !== 'fill') {
    setTimeout(() => (cpuAtStart = process.cpuUsage()), windowStart - Date.now());
    setTimeout(() => (cpuInWindow = process.cpuUsage(cpuAtStart)), windowEnd - Date.now());
  }

  await sleepUntil(startAt);
  const began = performance.now();
  let next = 0;
  const lean = job.mode !== 'fill' && job.client === 'lean';
  const connection = async () => {
    const own = lean ? new LeanConnection(target) : undefined;
    const send = own
      ? (path: string, body: Buffer) => own.post(path, body)
      : (path: string, body: Buffer) => post(agent, target, path, body);
    for (;;) {
      const k = next++;
      if (k >= totalRequests || Date.now() >= windowEnd) {
        own?.close();
        return;
      }
      const body = batch ?? Buffer.from(eventBody(k + 1));
      const sent = performance.now();
      try {
        const answer = await send(paths[k % paths.length]!, body);
        const latency = performance.now() - sent;
        if (answer.status === 200 || answer.status === 201) {
          tally.okRequests++;
          tally.okEvents += perRequest;
          const now = Date.now();
          if (now >= windowStart && now < windowEnd) {
            tally.windowEvents += perRequest;
            addToHistogram(tally.histogram, latency);
          }
        } else {
          tally.fail(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
        }
      } catch (error) {
        tally.fail(String(error));
        // A dead server must not turn this loop into a busy spin.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, connection));
  const elapsedMs = performance.now() - began;
  agent.destroy();
  const cpu = cpuInWindow ?? process.cpuUsage(cpuAtStart);
  return tally.report((cpu.user + cpu.system) / 1000, elapsedMs);
}

async function produce(job: Extract<LoadJob, { mode: 'produce' }>) {
  const target = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const tally = new Tally();
  const path = runApiPath(job.runId, '/events');
  const intervalMs = 1000 / job.ratePerS;
  const total = Math.round((job.ratePerS * (job.warmupMs + job.durationMs)) / 1000);
  const warmCount = Math.round((job.ratePerS * job.warmupMs) / 1000);
  const pad = job.padBytes ? `,"pad":"${'x'.repeat(job.padBytes)}"` : '';
  const cpuAtStart = process.cpuUsage();

  await sleepUntil(job.startAt);
  const began = performance.now();
  let sent = 0;
  let inFlight = 0;
  await new Promise<void>((resolve) => {
    const send = (i: number) => {
      inFlight++;
      const sentAt = preciseNow();
      const body = Buffer.from(
        `{"type":"bench.latency","payload":{"i":${i},"sentAt":${sentAt},"warm":${i < warmCount}${pad}}}`,
      );
      post(agent, target, path, body)
        .then((answer) => {
          if (answer.status === 200 || answer.status === 201) {
            tally.okRequests++;
            tally.okEvents++;
            if (i >= warmCount) addToHistogram(tally.histogram, preciseNow() - sentAt);
          } else tally.fail(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
        })
        .catch((error: unknown) => tally.fail(String(error)))
        .finally(() => {
          inFlight--;
          if (sent === total && inFlight === 0) resolve();
          else tick();
        });
    };
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      const elapsed = performance.now() - began;
      while (sent < total && sent * intervalMs <= elapsed && inFlight < job.connections)
        send(sent++);
      if (sent < total && timer === undefined && inFlight < job.connections) {
        timer = setTimeout(
          () => {
            timer = undefined;
            tick();
          },
          Math.max(0, sent * intervalMs - (performance.now() - began)),
        );
      }
    };
    tick();
  });
  const cpu = process.cpuUsage(cpuAtStart);
  agent.destroy();
  const report = tally.report((cpu.user + cpu.system) / 1000, performance.now() - began);
  report.windowEvents = total - warmCount;
  return report;
}

if (process.send && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  process.once('message', (job: LoadJob) => {
    const work = job.mode === 'produce' ? produce(job) : closedLoop(job);
    work.then(
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
