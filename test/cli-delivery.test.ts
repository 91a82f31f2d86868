// Delivery: ordered, batched, retried, never duplicated; through a failing server, a restarted
// server, and many runs at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { cliEnv, cliFor, runCli, storedEvents, storedRun } from './helpers/cli.ts';
import { waitFor } from './helpers/wait.ts';
import { CLI, serverFor, startServer } from './helpers/server.ts';

type Answer = 'forward' | '503' | 'forward-then-503';

interface Proxy {
  url: string;
  /** Bodies of the event POSTs it saw, in order. */
  eventPosts: unknown[];
  close(): Promise<void>;
}

/** A node:http proxy in front of the real server that decides how to answer each event POST. */
async function startProxy(target: string, answer: (eventPost: number) => Answer): Promise<Proxy> {
  const eventPosts: unknown[] = [];
  const read = async (request: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const server = createServer(async (request, response) => {
    const body = await read(request);
    const isEventPost = request.method === 'POST' && request.url!.endsWith('/events');
    const decision = isEventPost
      ? answer(eventPosts.push(JSON.parse(body.toString())) - 1)
      : 'forward';
    const overloaded = (): void => {
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
      response.end('{"error":"overloaded"}');
    };
    if (decision === '503') return overloaded();
    const headers = { ...request.headers } as Record<string, string>;
    delete headers.host;
    delete headers.connection;
    const upstream = await fetch(target + request.url, {
      method: request.method!,
      headers,
      ...(body.length > 0 ? { body: new Uint8Array(body) } : {}),
    });
    const text = await upstream.text();
    // The server stored it, but the answer is lost: only the idempotency id prevents a duplicate.
    if (decision === 'forward-then-503') return overloaded();
    response.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
    });
    response.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    eventPosts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Every event once, in order: seqs 1..n, unique producer ids, one progress event per step. */
function assertDeliveredOnce(events: any[], steps: number): void {
  assert.deepEqual(
    events.map((event) => event.seq),
    events.map((_, i) => i + 1),
  );
  assert.equal(new Set(events.map((event) => event.id)).size, events.length, 'no duplicated event');
  assert.equal(events[0].type, 'run.started');
  assert.equal(events.at(-1).type, 'run.completed');
  const progress = events
    .filter((event) => event.payload.total !== undefined)
    .map((event) => event.payload.step);
  assert.deepEqual(
    progress,
    Array.from({ length: steps }, (_, i) => i + 1),
    'every step once, in order',
  );
}

test('agent-ops delivery', async (t) => {
  const server = await serverFor(t);

  await t.test(
    'a server answering 503 twice, then recovering, ends with every event stored once',
    async () => {
      const proxy = await startProxy(server.url, (n) =>
        n === 0 ? '503' : n === 1 ? 'forward-then-503' : 'forward',
      );
      t.after(() => proxy.close());
      const result = await runCli([
        '--server',
        proxy.url,
        '--steps',
        '20',
        '--interval',
        '0',
        '--id',
        'flaky',
        '--json',
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /answered 503: overloaded; retrying/);

      const events = await storedEvents(server.url, 'flaky');
      assertDeliveredOnce(events, 20);
      assert.equal(JSON.parse(result.stdout).events, events.length);
      assert.equal((await storedRun(server.url, 'flaky')).eventCount, events.length);
      // The answer to the second POST was lost after the server stored it; it was sent again.
      assert.deepEqual(proxy.eventPosts[1], proxy.eventPosts[2]);
    },
  );

  await t.test(
    'batches queued events: --steps 1000 --interval 0 takes far fewer requests than events',
    async () => {
      const proxy = await startProxy(server.url, () => 'forward');
      t.after(() => proxy.close());
      const result = await runCli([
        '--server',
        proxy.url,
        '--steps',
        '1000',
        '--interval',
        '0',
        '--id',
        'batched',
      ]);
      assert.equal(result.code, 0, result.stderr);
      const events = await storedEvents(server.url, 'batched');
      assertDeliveredOnce(events, 1000);
      assert.ok(
        proxy.eventPosts.length < events.length / 2,
        `${proxy.eventPosts.length} requests for ${events.length} events`,
      );
      assert.ok(proxy.eventPosts.some(Array.isArray), 'some requests carry arrays');
    },
  );

  await t.test(
    'a server killed and restarted mid-run loses nothing and duplicates nothing',
    async (t) => {
      let current = await startServer();
      const { port, dataDir } = current;
      t.after(() => current.stop());
      const cli = cliFor(t, [
        '--server',
        current.url,
        '--steps',
        '150',
        '--interval',
        '20',
        '--id',
        'restarted',
      ]);
      await waitFor('the run to be under way', async () => {
        const response = await fetch(`${current.url}/api/runs/restarted`);
        const run = response.status === 200 ? ((await response.json()) as any) : undefined;
        return run?.eventCount >= 5 ? run : undefined;
      });
      await current.kill();
      await cli.waitFor(
        (_, stderr) => stderr.includes('retrying'),
        'the CLI to notice the server is gone',
      );
      current = await startServer({ port, dataDir });
      const result = await cli.exited;
      assert.equal(result.code, 0, result.stderr);
      assertDeliveredOnce(await storedEvents(current.url, 'restarted'), 150);
      assert.equal((await storedRun(current.url, 'restarted')).status, 'completed');
    },
  );

  await t.test('--runs N --concurrency C runs N lifecycles and prints the summary', async () => {
    const result = await runCli([
      '--server',
      server.url,
      '--runs',
      '6',
      '--concurrency',
      '3',
      '--steps',
      '5',
      '--interval',
      '0',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.deepEqual(
      [summary.runs, summary.concurrency, summary.completed, summary.failed, summary.stopped],
      [6, 3, 6, 0, 0],
    );
    assert.equal(new Set(summary.runIds).size, 6);
    let events = 0;
    for (const runId of summary.runIds) {
      const run = await storedRun(server.url, runId);
      assert.equal(run.status, 'completed');
      events += run.eventCount;
    }
    assert.equal(summary.events, events);
    assert.ok(summary.eventsPerSecond > 0);
    assert.ok(summary.ackLatencyMs.p50 <= summary.ackLatencyMs.p99);

    const failing = await runCli([
      '--server',
      server.url,
      '--runs',
      '3',
      '--concurrency',
      '2',
      '--steps',
      '3',
      '--interval',
      '0',
      '--failAt',
      '2',
    ]);
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(failing.stdout, /^3 runs, 2 at a time, in \d+\.\d s$/m);
    assert.match(failing.stdout, /^ {2}completed 0 · failed 3 · stopped 0$/m);
    assert.match(failing.stdout, /^ {2}\d+ events · \d+ events\/s$/m);
    assert.match(failing.stdout, /^ {2}ack latency p50 [\d.]+ ms · p99 [\d.]+ ms$/m);
  });

  await t.test('many runners in background shells work side by side', async () => {
    const command = `for i in 1 2 3 4 5 6; do "$NODE" "$CLI" --steps 20 --interval 5 --quiet & done; wait`;
    const proc = spawn('bash', ['-c', command], {
      env: cliEnv({ NODE: process.execPath, CLI, AGENTOPS_SERVER: server.url }),
    });
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const code = await new Promise((resolve) => proc.once('close', resolve));
    assert.equal(code, 0);
    const runIds = stdout.trim().split('\n');
    assert.equal(new Set(runIds).size, 6);
    for (const runId of runIds) assertDeliveredOnce(await storedEvents(server.url, runId), 20);
  });
});
