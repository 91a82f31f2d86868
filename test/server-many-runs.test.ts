// Many runs under a small open-file limit: open segment files and loaded run indexes are bounded,
// so every run works; an exhausted resource is a 503 that names it and the server carries on.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import type { AgentEvent, Health } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

/** A soft and hard limit far below the number of runs. */
const OPEN_FILES = 256;
const RUNS = 1500;
const CONCURRENCY = 16;

function prlimitMissing(): string | undefined {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'prlimit (util-linux) is not installed, so the open-file limit cannot be lowered';
  }
}

async function eachRun(work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < RUNS) await work(next++);
    }),
  );
}

test('many runs', { timeout: 240_000, skip: prlimitMissing() }, async (t) => {
  const server = await serverFor(t, {
    launcher: ['prlimit', `--nofile=${OPEN_FILES}:${OPEN_FILES}`, '--'],
  });

  await t.test(`${RUNS} runs each get events under ulimit -n ${OPEN_FILES}`, async () => {
    const failures: string[] = [];
    await eachRun(async (i) => {
      for (const step of [1, 2]) {
        const res = await api(server.url, `/api/runs/many-${i}/events`, {
          body: { id: `e${step}`, type: 'step', payload: { i } },
        });
        if (res.status !== 201) failures.push(`many-${i}: ${res.status} ${res.text.slice(0, 120)}`);
      }
    });
    assert.deepEqual(failures.slice(0, 5), []);
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.body.status, 'ok', health.body.reason);
    assert.equal(health.body.store.runs, RUNS);
    assert.equal(health.body.store.events, 2 * RUNS);
  });

  await t.test('every run reads back, and a retry is still recognised', async () => {
    const failures: string[] = [];
    await eachRun(async (i) => {
      const events = await api<AgentEvent[]>(server.url, `/api/runs/many-${i}/events`);
      if (events.status !== 200 || events.body.length !== 2)
        failures.push(`many-${i}: ${events.status} ${events.text.slice(0, 120)}`);
      const retry = await api(server.url, `/api/runs/many-${i}/events`, {
        body: { id: 'e1', type: 'step' },
      });
      if (retry.status !== 200) failures.push(`retry many-${i}: ${retry.status}`);
    });
    assert.deepEqual(failures.slice(0, 5), []);
  });

  await t.test(
    'out of file descriptors: a 503 naming the cause, then service as usual',
    async (t) => {
      // A connection made first, then every other descriptor taken by idle connections.
      const held = await api(server.url, '/health');
      assert.equal(held.status, 200);
      const sockets: Socket[] = [];
      t.after(() => sockets.forEach((socket) => socket.destroy()));
      const agentConnection = connect(server.port, '127.0.0.1');
      sockets.push(agentConnection);
      await new Promise((resolve) => agentConnection.once('connect', resolve));
      for (let i = 0; i < OPEN_FILES; i++) {
        const socket = connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        sockets.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      // The first run's index was dropped (least recently used), so reading it opens its files.
      agentConnection.write(
        `GET /api/runs/many-0/events HTTP/1.1\r\nHost: 127.0.0.1\r\nconnection: close\r\n\r\n`,
      );
      let answer = '';
      agentConnection.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
      await new Promise((resolve) => agentConnection.once('end', resolve));
      assert.match(answer, /^HTTP\/1.1 503/, answer.slice(0, 300));
      assert.match(answer, /retry-after/i);
      assert.match(answer, /too many open files/);
      sockets.forEach((socket) => socket.destroy());
      let events: { status: number; body: AgentEvent[] } | undefined;
      for (let attempt = 0; attempt < 100 && events?.status !== 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        events = await api<AgentEvent[]>(server.url, '/api/runs/many-0/events').catch(
          () => undefined,
        );
      }
      assert.equal(events?.body.length, 2);
      const more = await api(server.url, '/api/runs/after-starving/events', {
        body: { type: 'step' },
      });
      assert.equal(more.status, 201);
    },
  );
});
