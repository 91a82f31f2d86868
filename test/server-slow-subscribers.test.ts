// Subscribers that never read: each is cut off once its backlog passes the bound, without holding
// the server's memory, while ingest, /health and subscribers that do read carry on; and those that
// stop reading while a long run is replayed to them hold a small batch each, not the run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import type { AgentEvent, Health } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const STALLED = 300;
const BATCH = 500;
const PAYLOAD_TEXT = 'y'.repeat(2000);
/** Enough to push every stalled subscriber past the bound and the kernel's socket buffers. */
const MAX_BATCHES = 60;
/** bench/budgets.ts (delivery): stalled subscribers never grow the server's RSS past this. */
const RSS_BUDGET_BYTES = 200 * 1024 * 1024;

/** A run's history replayed to subscribers that stop reading at once: 4 MB each, if it were held. */
const HISTORY_EVENTS = 2000;
const HISTORY_BATCH = 200;
/** What one stalled replay may hold: a replay batch and Node's share, far from a 4 MB history. */
const REPLAY_HELD_LIMIT_BYTES = 128 * 1024;

function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

test('slow subscribers', { timeout: 300_000 }, async (t) => {
  const server = await serverFor(t);
  const pid = server.proc.pid!;
  assert.equal((await api(server.url, '/api/runs', { body: { id: 'flood' } })).status, 201);

  const sockets: Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  const stall = (runId: string) => {
    for (let i = 0; i < STALLED; i++) {
      const socket = connect(server.port, '127.0.0.1');
      // Never read: no 'data' listener, so the socket stays paused once its small buffer is full.
      socket.on('error', () => {});
      socket.write(`GET /api/runs/${runId}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      sockets.push(socket);
    }
  };
  stall('flood');
  const reader = await openSse(`${server.url}/api/runs/flood/stream`);
  t.after(() => reader.close());
  await waitFor('every subscriber to be attached', async () => {
    const health = await api<Health>(server.url, '/health');
    return health.body.streams.subscribers === STALLED + 1;
  });

  let peakRss = 0;
  let lastSeq = 0;
  const subscribersLeft = async () => {
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.status, 200, 'health answers throughout');
    return health.body.streams.subscribers;
  };

  await t.test('ingest goes on while stalled subscribers are cut off', async () => {
    let batches = 0;
    while ((await subscribersLeft()) > 1 && batches < MAX_BATCHES) {
      const events = Array.from({ length: BATCH }, () => ({
        type: 'flood',
        payload: { text: PAYLOAD_TEXT },
      }));
      const res = await api(server.url, '/api/runs/flood/events', { body: events });
      assert.equal(res.status, 201, res.text.slice(0, 200));
      lastSeq = res.body.results.at(-1).event.seq;
      batches++;
      peakRss = Math.max(peakRss, rssOf(pid));
    }
    await waitFor('every stalled subscriber to be cut off', async () => {
      peakRss = Math.max(peakRss, rssOf(pid));
      return (await subscribersLeft()) === 1;
    });
  });

  await t.test('the server never held their backlogs: RSS stayed within budget', () => {
    assert.ok(
      peakRss <= RSS_BUDGET_BYTES,
      `peak RSS ${(peakRss / 1048576).toFixed(0)} MB > ${RSS_BUDGET_BYTES / 1048576} MB`,
    );
  });

  await t.test('a subscriber that reads got every event, in order', async () => {
    const messages = await reader.take(lastSeq);
    const seqs = messages.map((m) => (JSON.parse(m.data) as AgentEvent).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: lastSeq }, (_, i) => i + 1),
    );
  });

  await t.test(
    'subscribers that stop reading mid-replay of a long run each hold a batch, not the run',
    async () => {
      assert.equal((await api(server.url, '/api/runs', { body: { id: 'history' } })).status, 201);
      for (let i = 0; i < HISTORY_EVENTS / HISTORY_BATCH; i++) {
        const events = Array.from({ length: HISTORY_BATCH }, () => ({
          type: 'history',
          payload: { text: PAYLOAD_TEXT },
        }));
        const res = await api(server.url, '/api/runs/history/events', { body: events });
        assert.equal(res.status, 201, res.text.slice(0, 200));
      }
      stall('history');
      let held = 0;
      await waitFor('every replaying subscriber to be attached', async () => {
        const health = await api<Health>(server.url, '/health');
        held = health.body.streams.maxBufferedBytes;
        peakRss = Math.max(peakRss, rssOf(pid));
        return health.body.streams.subscribers === STALLED + 1;
      });
      assert.ok(
        held <= REPLAY_HELD_LIMIT_BYTES,
        `a stalled replay holds ${held} bytes > ${REPLAY_HELD_LIMIT_BYTES}`,
      );
      assert.ok(
        peakRss <= RSS_BUDGET_BYTES,
        `peak RSS ${(peakRss / 1048576).toFixed(0)} MB > ${RSS_BUDGET_BYTES / 1048576} MB`,
      );
      const health = await api<Health>(server.url, '/health');
      assert.equal(health.status, 200, 'health answers while they hold their streams');
    },
  );
});
