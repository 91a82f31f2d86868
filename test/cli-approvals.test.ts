// Approvals and directives from the CLI: `ask` as a CI gate, `approve` / `deny`, `approvals`
// and `say`, each a real process against a real server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { runCli, spawnCli, storedEvents } from './helpers/cli.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

test('approvals (CLI)', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  const connection = ['--server', url];
  let counter = 0;

  const createRun = async (): Promise<string> => {
    const id = `cli-apr-${++counter}`;
    assert.equal((await api(url, '/api/runs', { body: { id } })).status, 201);
    return id;
  };
  const pendingOf = async (runId: string): Promise<any[]> =>
    (await api<any[]>(url, `/api/approvals?runId=${runId}`)).body;
  /** An `ask` waiting in the background, once its request is pending on the server. */
  const startAsk = async (runId: string, ...extra: string[]) => {
    const ask = spawnCli(['ask', runId, 'Deploy to production?', ...extra, ...connection]);
    t.after(() => ask.proc.kill('SIGKILL'));
    await waitFor('the request to be pending', async () => (await pendingOf(runId)).length > 0);
    return ask;
  };

  await t.test('ask waits for approve and exits 0 with the note', async () => {
    const runId = await createRun();
    const ask = await startAsk(runId, '--detail', 'v1.2.3');
    const [pending] = await pendingOf(runId);
    assert.equal(pending.title, 'Deploy to production?');
    const approve = await runCli(['approve', runId, '--note', 'ship it', ...connection]);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, new RegExp(`approved ${pending.approvalId} on run ${runId}`));
    const result = await ask.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /✔ approved by cli:\S+: ship it/);
    const events = await storedEvents(url, runId);
    const requested = events.find((e) => e.type === 'approval.requested');
    assert.equal(requested.payload.detail, 'v1.2.3');
  });

  await t.test('ask --json reports a denial and exits 1', async () => {
    const runId = await createRun();
    const ask = await startAsk(runId, '--json', '--id', 'deploy-7');
    const deny = await runCli([
      'deny',
      runId,
      'deploy-7',
      '--note',
      'not on a Friday',
      ...connection,
    ]);
    assert.equal(deny.code, 0, deny.stderr);
    const result = await ask.exited;
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.approvalId, 'deploy-7');
    assert.equal(doc.kind, 'decided');
    assert.equal(doc.decision, 'deny');
    assert.equal(doc.note, 'not on a Friday');
    assert.match(doc.by, /^cli/);
  });

  await t.test(
    'a timeout decides: deny by default, approve with --on-timeout approve',
    async () => {
      const runId = await createRun();
      const denied = await runCli(['ask', runId, 'Go?', '--timeout', '1s', ...connection]);
      assert.equal(denied.code, 1, denied.stderr);
      assert.match(denied.stderr, /denied by timeout: no decision within 1 s/);
      const approved = await runCli([
        'ask',
        runId,
        'Go?',
        '--timeout',
        '1',
        '--on-timeout',
        'approve',
        ...connection,
      ]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stderr, /approved by timeout/);
    },
  );

  await t.test('approve without an id: several pending is an error listing them', async () => {
    const runId = await createRun();
    await startAsk(runId, '--id', 'first');
    const second = spawnCli(['ask', runId, 'Second?', '--id', 'second', ...connection]);
    t.after(() => second.proc.kill('SIGKILL'));
    await waitFor('two pending', async () => (await pendingOf(runId)).length === 2);
    const ambiguous = await runCli(['approve', runId, ...connection]);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /has 2 pending approvals; name one:/);
    assert.match(ambiguous.stderr, /first\s+Deploy to production\?/);
    assert.match(ambiguous.stderr, /second\s+Second\?/);
    assert.equal((await runCli(['approve', runId, 'first', ...connection])).code, 0);
    const again = await runCli(['deny', runId, 'first', ...connection]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already decided: approve by "cli:/);
    assert.equal((await runCli(['deny', runId, ...connection])).code, 0, 'the only one left');
    const none = await runCli(['approve', runId, ...connection]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /has no pending approval/);
  });

  await t.test('approvals lists what waits across runs', async () => {
    const a = await createRun();
    const b = await createRun();
    await startAsk(a, '--id', 'a-1', '--timeout', '10m');
    await startAsk(b, '--id', 'b-1', '--tool', 'Bash', '--args', '{"command":"rm -rf build"}');
    const table = await runCli(['approvals', ...connection]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /RUN\s+APPROVAL\s+ASKED\s+TIMEOUT\s+TOOL\s+TITLE/);
    assert.match(
      table.stdout,
      new RegExp(`${a}\\s+a-1\\s+\\d+s ago\\s+deny in \\d+m\\s+-\\s+Deploy`),
    );
    assert.match(table.stdout, new RegExp(`${b}\\s+b-1\\s+.*Bash\\s+Deploy`));
    const json = await runCli(['approvals', '--run', b, '--json', ...connection]);
    const listed = JSON.parse(json.stdout);
    assert.deepEqual(
      listed.map((item: any) => [item.runId, item.approvalId, item.toolName]),
      [[b, 'b-1', 'Bash']],
    );
  });

  await t.test('ask fails on an unknown or finished run, and when the run ends first', async () => {
    const unknown = await runCli(['ask', 'no-such-run', 'Go?', ...connection]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no run "no-such-run"/);
    assert.equal((await api(url, '/api/runs/no-such-run')).status, 404, 'ask created no run');

    const runId = await createRun();
    const ask = await startAsk(runId);
    await api(url, `/api/runs/${runId}/events`, {
      body: { type: 'run.error', payload: { message: 'x' } },
    });
    const result = await ask.exited;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not decided: run cli-apr-\d+ ended error first/);
    const late = await runCli(['ask', runId, 'Go?', ...connection]);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /is error; a finished run takes no approval/);
  });

  await t.test('Ctrl-C withdraws the request and exits 130', async () => {
    const runId = await createRun();
    const ask = await startAsk(runId);
    ask.proc.kill('SIGINT');
    const result = await ask.exited;
    assert.equal(result.code, 130, result.stderr);
    const decided = (await storedEvents(url, runId)).find((e) => e.type === 'approval.decided');
    assert.equal(decided.payload.decision, 'deny');
    assert.equal(decided.payload.by, 'ask');
    assert.deepEqual(await pendingOf(runId), []);
  });

  await t.test('say records a directive; a finished run refuses it', async () => {
    const runId = await createRun();
    const said = await runCli(['say', runId, 'skip the flaky test', '--json', ...connection]);
    assert.equal(said.code, 0, said.stderr);
    const event = JSON.parse(said.stdout);
    assert.equal(event.type, 'directive');
    assert.equal(event.payload.text, 'skip the flaky test');
    await api(url, `/api/runs/${runId}/events`, { body: { type: 'run.completed' } });
    const late = await runCli(['say', runId, 'too late', ...connection]);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /its status is completed/);
    const long = await runCli(['say', runId, 'x'.repeat(5000), ...connection]);
    assert.equal(long.code, 2);
    assert.match(long.stderr, /at most 4000 characters; got 5000/);
  });

  await t.test('bad usage is exit 2 naming the problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['ask', 'r1'], /missing the question/],
      [
        ['ask', 'r1', 'Go?', '--timeout', 'soon'],
        /--timeout must be a duration like 250ms, 5s, 2m or 1h/,
      ],
      [['ask', 'r1', 'Go?', '--on-timeout', 'maybe'], /--on-timeout must be one of approve, deny/],
      [['ask', 'r1', 'Go?', '--id', 'a/b'], /--id must be/],
      [['approve'], /missing <runId>/],
      [['say', 'r1'], /missing the text/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...args, ...connection]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
