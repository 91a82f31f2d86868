// Black-box specification of the store's promises: kill -9 at any moment loses no acknowledged
// event and duplicates none; a torn last line is cut off; one server per data directory; SIGTERM
// shuts down cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FSYNC_MODES, VERSION } from '../shared/constants.ts';
import type { AgentEvent, Health, Run } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { CLI, startServer, tempDir, type ServerHandle } from './helpers/server.ts';

const RUNS = ['durable-a', 'durable-b'];
const CYCLES = 8;
const SINGLE_PRODUCERS = 6;
const BATCH_PRODUCERS = 2;
const BATCH_SIZE = 20;

/** Every *.jsonl file under `dir`. */
function jsonlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.jsonl'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

function lastLine(path: string): string {
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  return lines.at(-1) ?? '';
}

function parseOrUndefined(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The file the run's events are appended to: the *.jsonl whose last record is its highest seq. */
function activeEventFile(dataDir: string, runId: string): string {
  let best: { path: string; seq: number } | undefined;
  for (const path of jsonlFiles(dataDir)) {
    if (!readFileSync(path, 'utf8').includes(runId)) continue;
    const record = parseOrUndefined(lastLine(path));
    if (record?.runId !== runId || typeof record.seq !== 'number') continue;
    if (!best || record.seq > best.seq) best = { path, seq: record.seq };
  }
  assert.ok(best, `no event file of ${runId} under ${dataDir}`);
  return best.path;
}

/** The persisted run index: the *.jsonl that names the run but holds none of its events. */
function runIndexFile(dataDir: string, runId: string): string {
  const files = jsonlFiles(dataDir).filter((path) => {
    if (!readFileSync(path, 'utf8').includes(runId)) return false;
    return parseOrUndefined(lastLine(path))?.seq === undefined;
  });
  assert.equal(files.length, 1, `run index files: ${files}`);
  return files[0]!;
}

test('durability of the store', { timeout: 240_000 }, async (t) => {
  const dataDir = tempDir();
  /** Ids the server acknowledged with a 2xx, per run. */
  const acked = new Map(RUNS.map((id) => [id, new Set<string>()]));
  /** Every id ever sent, acknowledged or not, per run. */
  const sent = new Map(RUNS.map((id) => [id, new Set<string>()]));
  /** Sent but never acknowledged (the server died first): each producer retries them. */
  const unacked = new Map<number, { runId: string; ids: string[] }[]>();
  let server: ServerHandle | undefined;
  t.after(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Reads a run back and checks every promise against what the client knows. */
  const verify = async (label: string) => {
    let total = 0;
    for (const runId of RUNS) {
      const run = await api<Run>(server!.url, `/api/runs/${runId}`);
      if (acked.get(runId)!.size === 0 && run.status === 404) continue;
      assert.equal(run.status, 200, `${label}: ${runId}: ${run.text}`);
      const res = await api(server!.url, `/api/runs/${runId}/events?format=ndjson`);
      const events = res.text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AgentEvent);
      const ids = events.map((e) => e.id);
      events.forEach((e, i) => assert.equal(e.seq, i + 1, `${label}: ${runId}: seq at index ${i}`));
      assert.equal(new Set(ids).size, ids.length, `${label}: ${runId}: an id is stored twice`);
      const known = sent.get(runId)!;
      for (const id of ids) assert.ok(known.has(id), `${label}: ${runId}: unknown id ${id}`);
      const stored = new Set(ids);
      const lost = [...acked.get(runId)!].filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `${label}: ${runId}: acknowledged events lost`);
      assert.equal(run.body.eventCount, events.length, `${label}: ${runId}: eventCount`);
      assert.equal(run.body.lastSeq, events.length, `${label}: ${runId}: lastSeq`);
      total += events.length;
    }
    return total;
  };

  await t.test(
    `kill -9 while requests are in flight, ${CYCLES} cycles over every --fsync mode: every acknowledged event is there once, in order`,
    async () => {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // Every --fsync mode acknowledges only what write(2) took, so each survives kill -9.
        const fsync = FSYNC_MODES[cycle % FSYNC_MODES.length]!;
        const current = (server = await startServer({ dataDir, args: ['--fsync', fsync] }));
        await verify(`after restart ${cycle}`);

        // A producer retrying an acknowledged event gets the stored one back.
        for (const runId of RUNS) {
          for (const id of [...acked.get(runId)!].slice(-3)) {
            const res = await api(current.url, `/api/runs/${runId}/events`, {
              method: 'POST',
              body: { id, type: 'retry' },
            });
            assert.equal(res.status, 200, `retry of ${id}: ${res.text}`);
            assert.equal((res.body as AgentEvent).id, id);
          }
        }

        const killAfter = 250 + cycle * 40;
        let ackedThisCycle = 0;
        let killing: Promise<void> | undefined;
        const failures: string[] = [];
        const producer = async (p: number) => {
          const runId = RUNS[p % RUNS.length]!;
          const batch = p >= SINGLE_PRODUCERS;
          const queue = unacked.get(p) ?? [];
          unacked.set(p, queue);
          let n = 0;
          // Producers keep posting through the kill and stop only when the connection fails.
          for (;;) {
            const retry = queue.shift();
            const ids =
              retry?.ids ??
              Array.from({ length: batch ? BATCH_SIZE : 1 }, () => `c${cycle}-p${p}-${n++}`);
            const target = retry?.runId ?? runId;
            ids.forEach((id) => sent.get(target)!.add(id));
            const events = ids.map((id) => ({ id, type: 'work.step', payload: { p, cycle } }));
            let status: number;
            try {
              const res = await api(current.url, `/api/runs/${target}/events`, {
                method: 'POST',
                body: batch ? events : events[0],
              });
              status = res.status;
              if (status >= 300) failures.push(`${status} ${res.text.slice(0, 200)}`);
            } catch {
              queue.unshift({ runId: target, ids });
              return;
            }
            if (status < 300) {
              ids.forEach((id) => acked.get(target)!.add(id));
              ackedThisCycle += ids.length;
              if (ackedThisCycle >= killAfter) killing ??= current.kill();
            } else queue.unshift({ runId: target, ids });
          }
        };
        await Promise.all(
          Array.from({ length: SINGLE_PRODUCERS + BATCH_PRODUCERS }, (_, p) => producer(p)),
        );
        await killing;
        assert.deepEqual(failures, [], 'no request was refused while the server was up');
        assert.ok(ackedThisCycle >= killAfter);
        assert.equal(current.proc.signalCode, 'SIGKILL');
      }
      server = await startServer({ dataDir });
      const total = await verify('after the last restart');
      assert.ok(total >= CYCLES * 250, `only ${total} events stored`);
      const health = await api<Health>(server.url, '/health');
      assert.equal(health.body.store.runs, RUNS.length);
      assert.equal(health.body.store.events, total);
      // The durability figures, for the record: verify() has already failed on any loss or repeat.
      const ackedCount = RUNS.reduce((sum, id) => sum + acked.get(id)!.size, 0);
      t.diagnostic(
        `${CYCLES} kill -9 cycles: ${total} events stored, ${ackedCount} acknowledged, 0 lost, 0 duplicated, ${health.body.store.skippedRecords} records skipped`,
      );
    },
  );

  await t.test('a second server on the same data directory refuses to start', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir], {
      env: { ...process.env, AGENTOPS_API_KEY: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.notEqual(code, 0);
    assert.notEqual(code, null, 'it exits by itself, not by a signal');
    assert.doesNotMatch(stdout, /listening/);
    assert.match(stderr, /in use by another agent-ops server/);
    assert.ok(stderr.includes(dataDir), 'the message names the directory');
    // The first server is untouched.
    assert.equal((await api(server!.url, '/health')).status, 200);
    await verify('after the refused second server');
  });

  await t.test(
    'SIGTERM shuts down cleanly, ends open streams, and the data is there after restart',
    async () => {
      const before = await verify('before SIGTERM');
      const stream = await openSse(`${server!.url}/api/runs/${RUNS[0]}/stream?after=${before}`);
      assert.equal(await server!.stop(), 0);
      await assert.rejects(stream.take(1), /stream ended/);
      server = await startServer({ dataDir });
      assert.equal(await verify('after SIGTERM'), before);
    },
  );

  await t.test('health reports the store: runs, events and bytes', async () => {
    const health = (await api<Health>(server!.url, '/health')).body;
    const total = await verify('health');
    assert.equal(health.status, 'ok');
    assert.equal(health.version, VERSION);
    assert.ok(Math.abs(Date.parse(health.time) - Date.now()) < 3_600_000, health.time);
    assert.deepEqual(Object.keys(health.streams).sort(), ['maxBufferedBytes', 'subscribers']);
    assert.equal(health.store.runs, RUNS.length);
    assert.equal(health.store.events, total);
    assert.ok(health.store.bytes > total * 50, `bytes ${health.store.bytes}`);
    const res = await api(server!.url, '/api/runs/health-extra/events', {
      method: 'POST',
      body: { id: 'h1', type: 'x' },
    });
    assert.equal(res.status, 201);
    const after = (await api<Health>(server!.url, '/health')).body;
    assert.equal(after.store.runs, RUNS.length + 1);
    assert.equal(after.store.events, total + 1);
    assert.ok(after.store.bytes > health.store.bytes);
    assert.equal(
      (await api(server!.url, '/api/runs/health-extra', { method: 'DELETE' })).status,
      204,
    );
    const deleted = (await api<Health>(server!.url, '/health')).body;
    assert.equal(deleted.store.runs, RUNS.length);
    assert.equal(deleted.store.events, total);
  });

  const torn: { name: string; file: () => string; tail: string }[] = [
    {
      name: "the run's event file",
      file: () => activeEventFile(dataDir, RUNS[0]!),
      tail: `{"id":"torn-tail","seq":999999,"runId":"${RUNS[0]}","ts":"2024-05-01T`,
    },
    {
      name: 'the run index',
      file: () => runIndexFile(dataDir, RUNS[0]!),
      tail: `{"op":"put","run":{"id":"torn-run","title":"half`,
    },
  ];
  for (const { name, file, tail } of torn) {
    await t.test(
      `a torn last line of ${name} is cut off with a warning; appending continues`,
      async () => {
        const before = await verify(`before tearing ${name}`);
        // A torn line is what a crash leaves (after a clean stop, see server-damaged-files).
        await server!.kill();
        const path = file();
        appendFileSync(path, tail);

        server = await startServer({ dataDir });
        assert.match(server.stderr(), /torn/i, 'a warning names the torn record');
        assert.equal(await verify(`after tearing ${name}`), before);
        assert.equal((await api(server.url, '/api/runs/torn-run')).status, 404);
        const events = await api(server.url, `/api/runs/${RUNS[0]}/events?format=ndjson`);
        assert.doesNotMatch(events.text, /torn-tail/);

        const id = `after-torn-${name.replace(/\W+/g, '-')}`;
        sent.get(RUNS[0]!)!.add(id);
        const res = await api<AgentEvent>(server.url, `/api/runs/${RUNS[0]}/events`, {
          method: 'POST',
          body: { id, type: 'after.torn' },
        });
        assert.equal(res.status, 201, res.text);
        acked.get(RUNS[0]!)!.add(id);
        const lastSeq = (await api<Run>(server.url, `/api/runs/${RUNS[0]}`)).body.lastSeq;
        assert.equal(res.body.seq, lastSeq);
        assert.equal(await verify(`after appending past ${name}`), before + 1);

        // The cut was made on disk: the next start finds nothing torn and loses nothing.
        assert.equal(await server.stop(), 0);
        server = await startServer({ dataDir });
        assert.doesNotMatch(server.stderr(), /torn/i);
        assert.equal(await verify(`after the restart past ${name}`), before + 1);
      },
    );
  }
});
