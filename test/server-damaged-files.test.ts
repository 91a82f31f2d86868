// Damage inside the data files costs the damaged record alone: only the last line of a file can be
// torn; a bad record anywhere else is skipped, logged once and counted in /health; reads never
// modify a file; a missing segment leaves the run readable with a gap; a segment changed while the
// server was stopped (cleanly, so start-up trusts the run index) is put right when it is read.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SseParser } from '../shared/sse.ts';
import type { AgentEvent, Health, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { serverFor, tempDir, type ServerHandle } from './helpers/server.ts';

const EVENTS = 300;

/** The segment files of a run, whatever their directory is called. */
function segmentsOf(dataDir: string, runId: string): string[] {
  const found: string[] = [];
  for (const dir of readdirSync(join(dataDir, 'events'))) {
    for (const name of readdirSync(join(dataDir, 'events', dir))) {
      const path = join(dataDir, 'events', dir, name);
      if (readFileSync(path, 'utf8').includes(`"runId":${JSON.stringify(runId)}`)) found.push(path);
    }
  }
  return found;
}

/** Replaces line `index` (0-based) of a file by `damage(line)`, keeping every other byte. */
function damageLine(path: string, index: number, damage: (line: Buffer) => Buffer): void {
  const bytes = readFileSync(path);
  let start = 0;
  for (let i = 0; i < index; i++) start = bytes.indexOf(0x0a, start) + 1;
  const end = bytes.indexOf(0x0a, start);
  const line = damage(bytes.subarray(start, end));
  writeFileSync(path, Buffer.concat([bytes.subarray(0, start), line, bytes.subarray(end)]));
}

/** Overwrites `length` bytes at `at` (with 0xff unless told): the line keeps its place and its shape. */
function scribble(at: number, length: number, byte = 0xff): (line: Buffer) => Buffer {
  return (line) => {
    const copy = Buffer.from(line);
    copy.fill(byte, at, at + length);
    return copy;
  };
}

async function postMany(server: ServerHandle, runId: string, count: number): Promise<void> {
  const batch = Array.from({ length: count }, (_, i) => ({
    id: `${runId}-${i + 1}`,
    type: 'step',
    payload: { i: i + 1, text: 'some text to damage' },
  }));
  const res = await api(server.url, `/api/runs/${runId}/events`, { body: batch });
  assert.equal(res.status, 201, res.text.slice(0, 200));
}

async function allEvents(server: ServerHandle, runId: string): Promise<AgentEvent[]> {
  const res = await api<AgentEvent[]>(server.url, `/api/runs/${runId}/events?limit=5000`);
  assert.equal(res.status, 200, res.text.slice(0, 200));
  return res.body;
}

/** Replays a run's stream up to its last seq and checks every frame is valid JSON. */
async function replay(server: ServerHandle, runId: string, lastSeq: number): Promise<number[]> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/runs/${runId}/stream`, {
    signal: controller.signal,
  });
  const parser = new SseParser();
  const seqs: number[] = [];
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
        const event = JSON.parse(message.data) as AgentEvent;
        assert.equal(String(event.seq), message.id);
        seqs.push(event.seq);
      }
      if (seqs.at(-1) === lastSeq) break;
    }
  } finally {
    controller.abort();
  }
  return seqs;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('damaged data files', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));

  await t.test(
    'a damaged run record in the middle of runs.jsonl costs that run alone',
    async () => {
      const dir = tempDir();
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const first = await serverFor(t, { dataDir: dir });
      for (const id of ['first', 'second', 'third'])
        assert.equal((await api(first.url, '/api/runs', { body: { id } })).status, 201);
      await first.stop();
      const path = join(dir, 'runs.jsonl');
      damageLine(path, 1, scribble(20, 10));
      const damaged = readFileSync(path);

      const server = await serverFor(t, { dataDir: dir });
      assert.equal((await api(server.url, '/api/runs/first')).status, 200);
      assert.equal((await api(server.url, '/api/runs/third')).status, 200);
      const health = await api<Health>(server.url, '/health');
      assert.equal(health.body.store.skippedRecords, 1);
      assert.equal(server.stderr().match(/skipped/g)?.length, 1, server.stderr());
      assert.ok(readFileSync(path).subarray(0, damaged.length).equals(damaged), 'file kept');
      assert.equal((await api(server.url, '/api/runs', { body: { id: 'fourth' } })).status, 201);
    },
  );

  let server = await serverFor(t, { dataDir });
  await postMany(server, 'garbled', EVENTS);
  await postMany(server, 'shaped', EVENTS);
  await server.stop();
  const [garbledFile] = segmentsOf(dataDir, 'garbled');
  const [shapedFile] = segmentsOf(dataDir, 'shaped');
  // Line 100 (seq 100) loses its start; line 200 keeps its start and seq but holds NUL bytes.
  damageLine(garbledFile!, 99, scribble(0, 12));
  damageLine(shapedFile!, 199, scribble(60, 4, 0x00));
  const garbledBytes = readFileSync(garbledFile!);
  const shapedBytes = readFileSync(shapedFile!);
  server = await serverFor(t, { dataDir });

  await t.test('a garbled record in the middle of a segment costs that event alone', async () => {
    const events = await allEvents(server, 'garbled');
    assert.deepEqual(
      events.map((e) => e.seq),
      [...range(1, 99), ...range(101, EVENTS)],
    );
    assert.ok(readFileSync(garbledFile!).equals(garbledBytes), 'the read modified nothing');
  });

  await t.test(
    'a record that keeps its shape but holds bad bytes is skipped, not a 500',
    async () => {
      const events = await allEvents(server, 'shaped');
      assert.deepEqual(
        events.map((e) => e.seq),
        [...range(1, 199), ...range(201, EVENTS)],
      );
      const page = await api(server.url, '/api/runs/shaped/events?after=150&limit=100');
      assert.equal(page.status, 200);
      const filtered = await api(server.url, '/api/runs/shaped/events?q=damage&limit=5000');
      assert.equal(filtered.status, 200);
      assert.equal(filtered.body.length, EVENTS - 1);
      assert.ok(readFileSync(shapedFile!).equals(shapedBytes), 'the read modified nothing');
    },
  );

  await t.test('SSE replay skips the bad records and every frame is valid JSON', async () => {
    assert.deepEqual(await replay(server, 'shaped', EVENTS), [
      ...range(1, 199),
      ...range(201, EVENTS),
    ]);
    assert.deepEqual(await replay(server, 'garbled', EVENTS), [
      ...range(1, 99),
      ...range(101, EVENTS),
    ]);
  });

  await t.test('NDJSON export skips the bad records and every line is valid JSON', async () => {
    for (const [runId, hole] of [
      ['shaped', 200],
      ['garbled', 100],
    ] as const) {
      const res = await fetch(`${server.url}/api/runs/${runId}/events?format=ndjson`);
      assert.equal(res.status, 200);
      const lines = (await res.text()).split('\n');
      assert.equal(lines.pop(), '', 'the export ends with a newline');
      const seqs = lines.map((line) => (JSON.parse(line) as AgentEvent).seq);
      assert.deepEqual(seqs, [...range(1, hole - 1), ...range(hole + 1, EVENTS)], runId);
    }
  });

  await t.test('each bad record is logged once and counted in /health', async () => {
    await allEvents(server, 'shaped');
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.body.store.skippedRecords, 2);
    const lines = server
      .stderr()
      .split('\n')
      .filter((line) => /skipped/.test(line));
    assert.equal(lines.length, 2, server.stderr());
  });

  await t.test('new events after the damage are stored and read back', async () => {
    const res = await api<AgentEvent>(server.url, '/api/runs/shaped/events', {
      body: { type: 'after.damage' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.seq, EVENTS + 1);
    const events = await allEvents(server, 'shaped');
    assert.equal(events.at(-1)!.type, 'after.damage');
    // A producer's retry of an event stored after the damage is still recognised.
    const retry = await api(server.url, '/api/runs/shaped/events', {
      body: { id: `shaped-${EVENTS}`, type: 'step' },
    });
    assert.equal(retry.status, 200);
  });

  await t.test('a missing segment leaves the run readable and new events read back', async () => {
    await server.stop();
    rmSync(garbledFile!);
    server = await serverFor(t, { dataDir });
    const run = await api<Run>(server.url, '/api/runs/garbled');
    assert.equal(run.status, 200);
    assert.deepEqual(await allEvents(server, 'garbled'), []);
    const res = await api<AgentEvent>(server.url, '/api/runs/garbled/events', {
      body: { type: 'after.loss' },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.seq, EVENTS + 1);
    const events = await allEvents(server, 'garbled');
    assert.deepEqual(
      events.map((e) => e.type),
      ['after.loss'],
    );
    assert.deepEqual(await replay(server, 'garbled', EVENTS + 1), [EVENTS + 1]);
    assert.match(server.stderr(), /garbled.*missing|missing.*garbled/);
    const health = await api<Health>(server.url, '/health');
    assert.equal(health.body.store.missingEvents, EVENTS);
  });

  await t.test(
    'records and a torn tail added while the server was stopped are found when the run is read',
    async () => {
      await postMany(server, 'grown', 10);
      await server.stop();
      const [file] = segmentsOf(dataDir, 'grown');
      const last = JSON.parse(readFileSync(file!, 'utf8').trimEnd().split('\n').at(-1)!);
      const added = JSON.stringify({ ...last, id: 'grown-added', seq: 11 });
      appendFileSync(file!, `${added}\n{"id":"grown-torn","seq":12,"runId":"grown","ts":"2024-`);
      const grown = readFileSync(file!);

      server = await serverFor(t, { dataDir });
      assert.deepEqual(
        (await allEvents(server, 'grown')).map((e) => e.seq),
        range(1, 11),
      );
      assert.ok(readFileSync(file!).equals(grown), 'the read cut nothing');
      assert.match(server.stderr(), /torn record, left as they are; run "grown" continues/);
      assert.equal((await api<Run>(server.url, '/api/runs/grown')).body.lastSeq, 11);
      // Read again once 100 other runs have pushed its index out: nothing more is said.
      for (let i = 0; i < 100; i++) await postMany(server, `other-${i}`, 1);
      assert.deepEqual(
        (await allEvents(server, 'grown')).map((e) => e.seq),
        range(1, 11),
      );
      assert.equal(server.stderr().match(/torn record, left as they are/g)?.length, 1);

      const res = await api<AgentEvent>(server.url, '/api/runs/grown/events', {
        body: { id: 'grown-after', type: 'after.tear' },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.seq, 12);
      const retry = await api(server.url, '/api/runs/grown/events', {
        body: { id: 'grown-added', type: 'step' },
      });
      assert.equal(retry.status, 200, 'the added record is recognised as stored');
      assert.equal(segmentsOf(dataDir, 'grown').length, 2, 'new events went to a new segment');

      await server.stop();
      server = await serverFor(t, { dataDir });
      assert.deepEqual(
        (await allEvents(server, 'grown')).map((e) => e.seq),
        range(1, 12),
      );
    },
  );
});
