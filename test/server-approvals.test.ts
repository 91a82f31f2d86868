// Black-box specification of approvals and directives on the server: the pending list, decisions
// (the first wins), timeouts, finished runs, bad input, the control channel and restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DIRECTIVE_LENGTH } from '../shared/approvals.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api, openSse } from './helpers/http.ts';
import { serverFor, startServer, tempDir } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>';

test('approvals and directives', async (t) => {
  const server = await serverFor(t);
  const { url } = server;
  let counter = 0;

  const createRun = async (): Promise<Run> => {
    const res = await api<Run>(url, '/api/runs', { body: { id: `apr-${++counter}` } });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  const ask = (runId: string, payload: object) =>
    api<AgentEvent & { error: string }>(url, `/api/runs/${runId}/events`, {
      body: { type: 'approval.requested', payload },
    });
  const decide = (runId: string, approvalId: string, body: unknown) =>
    api<AgentEvent & { error: string }>(url, `/api/runs/${runId}/approvals/${approvalId}`, {
      method: 'POST',
      body,
    });
  const getRun = async (id: string) => (await api<Run>(url, `/api/runs/${id}`)).body;
  const decisions = async (id: string) =>
    (await api<AgentEvent[]>(url, `/api/runs/${id}/events?type=approval.decided`)).body;

  await t.test('a request is listed as pending; a decision is recorded and clears it', async () => {
    const run = await createRun();
    const asked = await ask(run.id, {
      approvalId: 'deploy-1',
      title: 'Deploy to production?',
      detail: 'v1.2.3',
      toolName: 'Bash',
      args: { command: 'make deploy' },
    });
    assert.equal(asked.status, 201, asked.text);
    const pending = (await getRun(run.id)).control?.approvals;
    assert.equal(pending?.length, 1);
    assert.equal(pending[0]!.approvalId, 'deploy-1');
    assert.equal(pending[0]!.title, 'Deploy to production?');
    assert.equal(pending[0]!.seq, asked.body.seq);
    assert.equal(pending[0]!.expiresAt, undefined);
    assert.equal((await getRun(run.id)).status, 'running', 'the run keeps its status');
    const listed = await api<any[]>(url, '/api/approvals');
    assert.ok(listed.body.some((a) => a.runId === run.id && a.approvalId === 'deploy-1'));

    const decided = await decide(run.id, 'deploy-1', {
      decision: 'approve',
      note: 'go',
      by: 'ana',
    });
    assert.equal(decided.status, 200, decided.text);
    assert.equal(decided.body.type, 'approval.decided');
    assert.deepEqual(decided.body.payload, {
      approvalId: 'deploy-1',
      decision: 'approve',
      by: 'ana',
      note: 'go',
    });
    assert.equal((await getRun(run.id)).control?.approvals, undefined);
    const after = await api<any[]>(url, `/api/approvals?runId=${run.id}`);
    assert.deepEqual(after.body, []);
  });

  await t.test('the second decision is refused with 409 naming the first', async () => {
    const run = await createRun();
    await ask(run.id, { approvalId: 'a1', title: 'Go?' });
    assert.equal((await decide(run.id, 'a1', { decision: 'deny' })).status, 200);
    const second = await decide(run.id, 'a1', { decision: 'approve' });
    assert.equal(second.status, 409);
    assert.match(second.body.error, /already decided: deny by "api"/);
    assert.equal((await decisions(run.id)).length, 1);
  });

  await t.test('two decisions at once: exactly one wins', async () => {
    const run = await createRun();
    await ask(run.id, { approvalId: 'race', title: 'Go?' });
    const answers = await Promise.all([
      decide(run.id, 'race', { decision: 'approve' }),
      decide(run.id, 'race', { decision: 'deny' }),
      decide(run.id, 'race', { decision: 'deny' }),
    ]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409, 409]);
    assert.equal((await decisions(run.id)).length, 1);
  });

  const bad: Array<[string, () => Promise<{ status: number; body: any }>, number, RegExp]> = [
    [
      'an unknown approval',
      async () => decide((await createRun()).id, 'nope', { decision: 'approve' }),
      404,
      /approval "nope" not found/,
    ],
    [
      'an unknown run',
      () => decide('no-such-run', 'a', { decision: 'approve' }),
      404,
      /run "no-such-run" not found/,
    ],
    [
      'an unknown decision value',
      async () => {
        const run = await createRun();
        await ask(run.id, { approvalId: 'v', title: 'Go?' });
        return decide(run.id, 'v', { decision: 'maybe' });
      },
      400,
      /decision must be one of approve, deny; got "maybe"/,
    ],
    [
      'a decision with no body',
      async () => decide((await createRun()).id, 'v', undefined),
      400,
      /decision body must be/,
    ],
    [
      'a note that is too long',
      async () => {
        const run = await createRun();
        await ask(run.id, { approvalId: 'n', title: 'Go?' });
        return decide(run.id, 'n', { decision: 'deny', note: 'x'.repeat(5000) });
      },
      400,
      /decision.note must be a string of at most 2000 characters/,
    ],
    [
      'a request with no title',
      async () => ask((await createRun()).id, { approvalId: 'x' }),
      400,
      /payload.title must be a non-empty string/,
    ],
    [
      'a request with a bad id',
      async () => ask((await createRun()).id, { approvalId: 'a/b', title: 'x' }),
      400,
      /payload.approvalId must be/,
    ],
    [
      'a request with a bad onTimeout',
      async () =>
        ask((await createRun()).id, {
          approvalId: 'x',
          title: 'x',
          timeoutS: 5,
          onTimeout: 'maybe',
        }),
      400,
      /onTimeout must be one of approve, deny/,
    ],
    [
      'a decision posted as an event',
      async () =>
        api(url, `/api/runs/${(await createRun()).id}/events`, {
          body: { type: 'approval.decided', payload: { approvalId: 'x', decision: 'approve' } },
        }),
      400,
      /written by the server/,
    ],
    [
      'a directive posted as an event',
      async () =>
        api(url, `/api/runs/${(await createRun()).id}/events`, {
          body: { type: 'directive', payload: { text: 'x' } },
        }),
      400,
      /POST \/api\/runs\/:runId\/directives/,
    ],
    [
      'a very long directive',
      async () =>
        api(url, `/api/runs/${(await createRun()).id}/directives`, {
          body: { text: 'x'.repeat(MAX_DIRECTIVE_LENGTH + 1) },
        }),
      400,
      new RegExp(`at most ${MAX_DIRECTIVE_LENGTH} characters; got ${MAX_DIRECTIVE_LENGTH + 1}`),
    ],
    [
      'an empty directive',
      async () =>
        api(url, `/api/runs/${(await createRun()).id}/directives`, { body: { text: ' ' } }),
      400,
      /non-empty string/,
    ],
    [
      'a directive to an unknown run',
      () => api(url, '/api/runs/no-such-run/directives', { body: { text: 'hi' } }),
      404,
      /not found/,
    ],
  ];
  for (const [what, send, status, message] of bad) {
    await t.test(`refuses ${what} (${status})`, async () => {
      const res = await send();
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.match(res.body.error, message);
    });
  }

  await t.test(
    'a finished run takes no approval and no directive; its open ones close',
    async () => {
      const run = await createRun();
      await ask(run.id, { approvalId: 'open', title: 'Go?' });
      await api(url, `/api/runs/${run.id}/events`, { body: { type: 'run.completed' } });
      assert.equal((await getRun(run.id)).control?.approvals, undefined);
      const late = await decide(run.id, 'open', { decision: 'approve' });
      assert.equal(late.status, 409);
      assert.match(late.body.error, /closed undecided: the run is completed/);
      const asked = await ask(run.id, { approvalId: 'more', title: 'Go?' });
      assert.equal(asked.status, 409);
      assert.match(
        asked.body.error,
        /cannot request an approval on run "apr-\d+": its status is completed/,
      );
      const batch = await api(url, `/api/runs/${run.id}/events`, {
        body: [
          { type: 'note' },
          { type: 'approval.requested', payload: { approvalId: 'b', title: 'x' } },
        ],
      });
      assert.equal(batch.status, 207);
      assert.deepEqual(
        batch.body.results.map((r: any) => r.status),
        [201, 409],
      );
      const directive = await api(url, `/api/runs/${run.id}/directives`, { body: { text: 'hi' } });
      assert.equal(directive.status, 409);
      assert.match(directive.body.error, /its status is completed/);
    },
  );

  await t.test('a PATCH to a finished status closes the open approvals too', async () => {
    const run = await createRun();
    await ask(run.id, { approvalId: 'p', title: 'Go?' });
    await api(url, `/api/runs/${run.id}`, { method: 'PATCH', body: { status: 'stopped' } });
    assert.equal((await getRun(run.id)).control?.approvals, undefined);
    const listed = await api<any[]>(url, '/api/approvals');
    assert.ok(!listed.body.some((a) => a.runId === run.id));
  });

  await t.test('a timeout decides onTimeout (deny by default) with by "timeout"', async () => {
    const run = await createRun();
    await ask(run.id, { approvalId: 'quiet', title: 'Go?', timeoutS: 0.2 });
    const expiring = (await getRun(run.id)).control?.approvals?.[0];
    assert.ok(expiring?.expiresAt);
    assert.equal(expiring.onTimeout, 'deny');
    await ask(run.id, { approvalId: 'lenient', title: 'Go?', timeoutS: 0.2, onTimeout: 'approve' });
    const decided = await waitFor('both timeouts', async () => {
      const found = await decisions(run.id);
      return found.length === 2 ? found : null;
    });
    const byId = Object.fromEntries(decided!.map((e) => [e.payload.approvalId, e.payload]));
    assert.equal(byId.quiet.decision, 'deny');
    assert.equal(byId.quiet.by, 'timeout');
    assert.match(byId.quiet.note, /^no decision within \d+ s$/);
    assert.equal(byId.lenient.decision, 'approve');
    assert.equal(byId.lenient.by, 'timeout');
  });

  await t.test('a timeout racing a decision: exactly one of them wins', async () => {
    for (let i = 0; i < 8; i++) {
      const run = await createRun();
      await ask(run.id, { approvalId: 'r', title: 'Go?', timeoutS: 0.05 });
      await new Promise((resolve) => setTimeout(resolve, 45));
      const answer = await decide(run.id, 'r', { decision: 'approve' });
      assert.ok(answer.status === 200 || answer.status === 409, answer.text);
      if (answer.status === 409)
        assert.match(answer.body.error, /already decided: deny by "timeout"/);
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.equal((await decisions(run.id)).length, 1);
    }
  });

  await t.test('directives are recorded as text, hostile or not', async () => {
    const run = await createRun();
    const res = await api<AgentEvent>(url, `/api/runs/${run.id}/directives`, {
      body: { text: HOSTILE },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.type, 'directive');
    assert.equal(res.body.payload.text, HOSTILE);
    assert.equal(res.body.payload.by, 'api');
    assert.match(String(res.body.payload.directiveId), /^[0-9a-f-]{36}$/);
    const asked = await ask(run.id, { approvalId: 'h', title: HOSTILE, detail: HOSTILE });
    assert.equal(asked.status, 201);
    assert.equal((await getRun(run.id)).control?.approvals?.[0]?.title, HOSTILE);
  });

  await t.test(
    'the producer on the control channel receives decisions and directives',
    async () => {
      const run = await createRun();
      const channel = await openSse(`${url}/api/runs/${run.id}/control`);
      t.after(() => channel.close());
      await waitFor(
        'the producer attached',
        async () => (await getRun(run.id)).control?.producerAttached,
      );
      await ask(run.id, { approvalId: 'c1', title: 'Go?' });
      await decide(run.id, 'c1', { decision: 'approve', note: 'ok' });
      const directive = await api<AgentEvent>(url, `/api/runs/${run.id}/directives`, {
        body: { text: 'use staging' },
      });
      const [approval, told] = await channel.take(2);
      assert.deepEqual(JSON.parse(approval!.data), {
        action: 'approval',
        approvalId: 'c1',
        decision: 'approve',
        note: 'ok',
      });
      assert.deepEqual(JSON.parse(told!.data), {
        action: 'directive',
        directiveId: directive.body.payload.directiveId,
        text: 'use staging',
      });
      assert.equal(told!.id, String(directive.body.seq));
    },
  );

  await t.test('a producer that reconnects receives the decisions it missed, once', async () => {
    const run = await createRun();
    const first = await openSse(`${url}/api/runs/${run.id}/control`);
    await ask(run.id, { approvalId: 'm1', title: 'Go?' });
    await ask(run.id, { approvalId: 'm2', title: 'Go?' });
    await decide(run.id, 'm1', { decision: 'approve' });
    const [seen] = await first.take(1);
    first.close();
    await waitFor(
      'the producer gone',
      async () => !(await getRun(run.id)).control?.producerAttached,
    );
    await decide(run.id, 'm2', { decision: 'deny', note: 'while away' });
    const again = await openSse(`${url}/api/runs/${run.id}/control`, {
      'last-event-id': seen!.id!,
    });
    t.after(() => again.close());
    const [missed] = await again.take(1);
    assert.deepEqual(JSON.parse(missed!.data), {
      action: 'approval',
      approvalId: 'm2',
      decision: 'deny',
      note: 'while away',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(!again.raw().includes('"m1"'), 'the decision it had seen is not sent again');
  });

  await t.test('across a server restart', async (t) => {
    const dataDir = tempDir();
    let server = await startServer({ dataDir });
    t.after(async () => {
      await server.stop();
    });
    const { port } = server;
    const run = (await api<Run>(server.url, '/api/runs', { body: { id: 'restart-1' } })).body;
    for (const payload of [
      { approvalId: 'kept', title: 'Survives?' },
      { approvalId: 'timed', title: 'Times out?', timeoutS: 3, onTimeout: 'approve' },
    ]) {
      const res = await api(server.url, `/api/runs/${run.id}/events`, {
        body: { type: 'approval.requested', payload },
      });
      assert.equal(res.status, 201);
    }

    await t.test('a pending approval survives a crash, and its timeout is re-armed', async () => {
      await server.kill();
      server = await startServer({ dataDir, port });
      const after = (await api<Run>(server.url, `/api/runs/${run.id}`)).body;
      assert.deepEqual(
        after.control?.approvals?.map((a) => a.approvalId),
        ['kept', 'timed'],
      );
      const decided = await waitFor('the re-armed timeout', async () => {
        const events = (
          await api<AgentEvent[]>(server.url, `/api/runs/${run.id}/events?type=approval.decided`)
        ).body;
        return events.length === 1 ? events[0]! : null;
      });
      assert.equal(decided!.payload.approvalId, 'timed');
      assert.equal(decided!.payload.decision, 'approve');
      assert.equal(decided!.payload.by, 'timeout');
    });

    await t.test('after a restart the first decision still wins', async () => {
      const ok = await api(server.url, `/api/runs/${run.id}/approvals/kept`, {
        body: { decision: 'approve' },
      });
      assert.equal(ok.status, 200);
      await server.stop();
      server = await startServer({ dataDir, port });
      const again = await api<{ error: string }>(server.url, `/api/runs/${run.id}/approvals/kept`, {
        body: { decision: 'deny' },
      });
      assert.equal(again.status, 409);
      assert.match(again.body.error, /already decided: approve by "api"/);
    });

    await t.test('a producer that reconnects after a restart is sent what it missed', async () => {
      const channel = await openSse(`${server.url}/api/runs/${run.id}/control`, {
        'last-event-id': '1',
      });
      t.after(() => channel.close());
      const messages = (await channel.take(2)).map((m) => JSON.parse(m.data));
      assert.deepEqual(
        messages.map((m) => [m.approvalId, m.decision]),
        [
          ['timed', 'approve'],
          ['kept', 'approve'],
        ],
      );
    });
  });
});
