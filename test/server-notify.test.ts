// `serve --notify`: webhook messages on approvals requested, runs failed or lost, and long runs
// completed; retried with backoff when the receiver fails, counted in /health, never holding
// ingest. The receivers are local HTTP servers standing in for Slack- and ntfy-style webhooks.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

interface Received {
  path: string;
  body: any;
}

test('serve --notify', async (t) => {
  const received: Received[] = [];
  let failNext = 0;
  const hanging: ServerResponse[] = [];
  const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      if (req.url === '/hang') return void hanging.push(res);
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end('down for maintenance');
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(text) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const res of hanging) res.destroy();
    receiver.close();
  });
  const { port } = receiver.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const server = await serverFor(t, {
    args: [
      '--notify',
      `${base}/slack/T000/B000/secret-token`,
      '--notify',
      `${base}/#agents-topic`,
      '--notify',
      `${base}/hang`,
      '--notify-min-duration',
      '0',
    ],
  });
  const { url } = server;
  const messagesOf = (kind: string, runId: string) =>
    received.filter((m) => m.body.kind === kind && m.body.runId === runId);
  const event = (runId: string, type: string, payload: object = {}) =>
    api(url, `/api/runs/${runId}/events`, { body: { type, payload } });

  await t.test(
    'an approval request is announced in a Slack- and an ntfy-shaped message',
    async () => {
      await api(url, '/api/runs', { body: { id: 'n-1', title: 'nightly deploy' } });
      await event('n-1', 'approval.requested', {
        approvalId: 'a1',
        title: 'Deploy to production?',
      });
      const both = await waitFor('both messages', () => {
        const found = messagesOf('approval.requested', 'n-1');
        return found.length === 2
          ? found.sort((a, b) => a.path.localeCompare(b.path)).reverse()
          : null;
      });
      const [slack, ntfy] = both!;
      assert.equal(slack!.path, '/slack/T000/B000/secret-token');
      assert.match(
        slack!.body.text,
        /^agent-ops: run nightly deploy waits for approval: Deploy to production\? http:\/\/.*#\/runs\/n-1$/,
      );
      assert.equal(slack!.body.topic, undefined);
      assert.equal(slack!.body.approvalId, 'a1');
      assert.equal(ntfy!.path, '/', 'ntfy JSON goes to the root URL');
      assert.equal(ntfy!.body.topic, 'agents-topic');
      assert.equal(ntfy!.body.title, 'agent-ops: run nightly deploy waits for approval');
      assert.equal(ntfy!.body.message, 'Deploy to production?');
      assert.deepEqual(ntfy!.body.tags, ['hourglass']);
      assert.equal(ntfy!.body.priority, 4);
      assert.match(ntfy!.body.click, /#\/runs\/n-1$/);
    },
  );

  await t.test(
    'a failing receiver is retried until it recovers; /health shows the failures',
    async () => {
      failNext = 4;
      await api(url, '/api/runs', { body: { id: 'n-2' } });
      await event('n-2', 'run.error', { message: 'tests failed' });
      const health = await waitFor('the failure in /health', async () => {
        const body = (await api(url, '/health')).body;
        return body.notify?.some((target: any) => target.lastError === 'answered 500')
          ? body
          : null;
      });
      assert.equal(health!.notify.length, 3);
      assert.ok(!JSON.stringify(health).includes('secret-token'), 'webhook paths stay secret');
      await waitFor(
        'both deliveries after the receiver recovers',
        () => messagesOf('run.error', 'n-2').length === 2,
      );
      assert.equal(messagesOf('run.error', 'n-2')[0]!.body.message, 'tests failed');
      const after = (await api(url, '/health')).body.notify;
      assert.ok(
        after.filter((target: any) => target.sent >= 2).length === 2,
        JSON.stringify(after),
      );
    },
  );

  await t.test('a lost run and a completed run are announced; a stopped run is not', async () => {
    await api(url, '/api/runs', { body: { id: 'n-3' } });
    await api(url, '/api/runs', { body: { id: 'n-4' } });
    await api(url, '/api/runs', { body: { id: 'n-5' } });
    await event('n-3', 'run.stopped');
    await event('n-4', 'run.error', {
      message: 'producer lost: no event for 60 s',
      reason: 'producer-lost',
    });
    await event('n-5', 'run.completed');
    await waitFor('the completion', () => messagesOf('run.completed', 'n-5').length === 2);
    assert.equal(
      messagesOf('run.lost', 'n-4').length,
      2,
      'delivered in order, before the completion',
    );
    assert.ok(!received.some((m) => m.body.runId === 'n-3'), 'nothing for a stopped run');
    await event('n-5', 'run.completed');
    await event('n-4', 'run.error', { message: 'again' });
    await api(url, '/api/runs', { body: { id: 'n-6' } });
    await event('n-6', 'run.completed');
    await waitFor('a later message', () => messagesOf('run.completed', 'n-6').length === 2);
    assert.equal(messagesOf('run.completed', 'n-5').length, 2, 'a finished run is announced once');
  });

  await t.test('a receiver that never answers does not hold ingest', async () => {
    assert.ok(hanging.length >= 1, 'the hanging receiver holds a request');
    await api(url, '/api/runs', { body: { id: 'n-7' } });
    for (let i = 0; i < 20; i++) {
      const res = await event('n-7', 'approval.requested', { approvalId: `x${i}`, title: 'Go?' });
      assert.equal(res.status, 201);
    }
    const health = (await api(url, '/health')).body;
    const hung = health.notify.find((target: any) => target.pending > 0);
    assert.ok(hung, 'its messages wait in its own queue');
  });
});
