// The queue in the dashboard, in a real browser against the real server and real workers: the New
// run dialog (no worker online, tasks and their parameters, queue and open), queue positions and
// stopping a queued run, the run header's place in the queue and worker, and the live Workers view.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Run, WorkerInfo } from '../shared/types.ts';
import { browserFor, browserSuite } from './helpers/browser.ts';
import { spawnCli, storedRun } from './helpers/cli.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WAIT_MS = 20_000;
/** How long a worker gets to stop its tasks when a test ends, before it is killed. */
const WORKER_GRACE_MS = 10_000;
const NODE = process.execPath;

test('dashboard queue', { timeout: 180_000, ...browserSuite }, async (t) => {
  const browser = await browserFor(t);
  const server = await serverFor(t);
  const pageErrors: string[] = [];

  async function openPage(hash = '#/', base = server.url): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => context.close());
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${base}/${hash}`);
    await page.locator('.connection', { hasText: 'live' }).first().waitFor({ timeout: WAIT_MS });
    return page;
  }
  const startWorker = async (args: string[], base = server.url) => {
    const worker = spawnCli(['worker', '--server', base, ...args]);
    // SIGTERM first: the worker stops the tasks it started (a kill -9 would leave them running).
    t.after(async () => {
      if (worker.proc.exitCode !== null || worker.proc.signalCode !== null) return;
      const exited = new Promise((resolve) => worker.proc.once('exit', resolve));
      worker.proc.kill('SIGTERM');
      const forced = setTimeout(() => worker.proc.kill('SIGKILL'), WORKER_GRACE_MS);
      await exited;
      clearTimeout(forced);
    });
    await worker.waitFor((stdout) => stdout.includes('ready:'), 'the worker to be ready');
    return worker;
  };
  const queue = async (task: string, title?: string, base = server.url): Promise<Run> =>
    (await api<Run>(base, '/api/runs', { body: { task, title } })).body;

  await t.test(
    'with no worker online, the dialog says so and shows the command to start one',
    async () => {
      const page = await openPage();
      await page.getByRole('button', { name: 'New run' }).click();
      const dialog = page.getByRole('dialog', { name: 'New run' });
      await dialog.waitFor({ timeout: WAIT_MS });
      await dialog.getByText('No worker is online').waitFor({ timeout: WAIT_MS });
      assert.equal(
        await dialog.locator('.new-run-command').textContent(),
        `agent-ops worker --simulate --server ${server.url}`,
      );
      await dialog.getByLabel('Task').fill('simulate');
      await dialog
        .getByText('No online worker offers "simulate" yet: the run waits in the queue')
        .waitFor({ timeout: WAIT_MS });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
    },
  );

  await t.test(
    'the dialog lists the tasks workers offer, a field per parameter; submit queues and opens the run',
    async () => {
      const page = await openPage();
      await startWorker([
        '--name',
        'dialog-worker',
        '--task',
        `greet=${NODE} -e "console.log('hello ' + process.argv[1])" {who}`,
        '--simulate',
      ]);
      await page.getByRole('button', { name: 'New run' }).click();
      const dialog = page.getByRole('dialog', { name: 'New run' });
      await waitFor(
        'the offered tasks',
        async () =>
          (await dialog
            .locator('#new-run-tasks option')
            .evaluateAll((options) =>
              options.map((o) => (o as HTMLOptionElement).value).join(','),
            )) === 'greet,simulate',
      );
      assert.equal(await dialog.locator('.new-run-offline').isVisible(), false);
      await dialog.getByLabel('Task').fill('greet');
      await dialog.getByLabel('who').fill('dashboard user');
      await dialog.getByLabel('Title').fill('queued from the dialog');
      await dialog.getByRole('button', { name: 'Queue run' }).click();
      await page.waitForURL(/#\/runs\/run-/, { timeout: WAIT_MS });
      const runId = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
      await page.locator('.run-header .run-id', { hasText: runId }).waitFor({ timeout: WAIT_MS });
      const done = await waitFor('the run to complete', async () => {
        const run = await storedRun(server.url, runId);
        return run.status === 'completed' ? run : undefined;
      });
      assert.equal(done!.task, 'greet');
      assert.deepEqual(done!.input, { who: 'dashboard user' });
      assert.equal(done!.title, 'queued from the dialog');
      await page
        .locator('.run-header .status-badge[data-status="completed"]')
        .waitFor({ timeout: WAIT_MS });
    },
  );

  await t.test('queued runs show their position in the queue and can be stopped', async () => {
    const page = await openPage();
    const first = await queue('nobody-offers-this');
    const second = await queue('nobody-offers-this');
    const row = (run: Run) => page.locator(`.run-row[data-run-id="${run.id}"]`);
    await row(first).getByText('#1 in queue').waitFor({ timeout: WAIT_MS });
    await row(second).getByText('#2 in queue').waitFor({ timeout: WAIT_MS });
    await row(first).click();
    await page.getByRole('button', { name: 'Stop the run' }).click();
    await page.getByRole('button', { name: 'Confirm stop' }).click();
    await page
      .locator('.run-header .status-badge[data-status="stopped"]')
      .waitFor({ timeout: WAIT_MS });
    assert.equal((await storedRun(server.url, first.id)).status, 'stopped');
    await row(second).getByText('#1 in queue').waitFor({ timeout: WAIT_MS });
  });

  await t.test(
    "the run header shows the run's place in the queue, then the worker that claimed it, live",
    async (st) => {
      // A server of its own, so the queue holds only this subtest's runs.
      const own = await serverFor(st);
      const page = await openPage('#/', own.url);
      const ahead = await queue('header-task', 'ahead in the queue', own.url);
      const mine = await queue('header-task', 'behind in the queue', own.url);
      // The list searched down to this run alone still counts the run ahead of it.
      await page.getByLabel('Search runs by title, id or metadata').fill('behind');
      const row = page.locator(`.run-row[data-run-id="${mine.id}"]`);
      await row.getByText('#2 in queue (header-task)').waitFor({ timeout: WAIT_MS });
      await row.click();
      const header = page.locator('.run-header');
      await header
        .locator('.fact-task dd', { hasText: 'header-task' })
        .waitFor({ timeout: WAIT_MS });
      const position = header.locator('.fact-queue dd');
      await position.getByText('#2 of 2').waitFor({ timeout: WAIT_MS });
      assert.equal(await header.locator('.fact-worker').count(), 0, 'no worker while queued');

      await api(own.url, `/api/runs/${ahead.id}/stop`, { method: 'POST' });
      await position.getByText('#1 of 1').waitFor({ timeout: WAIT_MS });

      await startWorker(
        [
          '--name',
          'header-worker',
          '--task',
          `header-task=${NODE} -e "setInterval(() => {}, 1000)"`,
        ],
        own.url,
      );
      const workers = (await api<WorkerInfo[]>(own.url, '/api/workers')).body;
      const worker = workers.find((w) => w.name === 'header-worker');
      assert.ok(worker, 'the worker announced itself');
      const workerFact = header.locator('.fact-worker dd');
      await workerFact.getByText('header-worker').waitFor({ timeout: WAIT_MS });
      assert.equal(await workerFact.locator('.worker-id').textContent(), worker.id);
      await header.locator('.status-badge[data-status="running"]').waitFor({ timeout: WAIT_MS });
      assert.equal(
        await header.locator('.fact-queue').count(),
        0,
        'no place in the queue once claimed',
      );
      await api(own.url, `/api/runs/${mine.id}/stop`, { method: 'POST' });
    },
  );

  await t.test(
    'the Workers view shows every worker, its tasks and what it runs, live',
    async () => {
      const page = await openPage();
      await page.getByRole('link', { name: 'Workers' }).click();
      await page.getByRole('heading', { name: 'Workers' }).waitFor({ timeout: WAIT_MS });
      await startWorker([
        '--name',
        'view-worker',
        '--concurrency',
        '2',
        '--task',
        `sleepy=${NODE} -e "setInterval(() => {}, 1000)"`,
      ]);
      const card = page.locator('.worker-card', { hasText: 'view-worker' });
      await card.getByText('tasks: sleepy').waitFor({ timeout: WAIT_MS });
      await card.getByText('0/2 running').waitFor({ timeout: WAIT_MS });
      const run = await queue('sleepy');
      await card.getByRole('link', { name: run.id }).waitFor({ timeout: WAIT_MS });
      await card.getByText('1/2 running').waitFor({ timeout: WAIT_MS });
      assert.equal(await card.getAttribute('data-state'), 'busy');
      await api(server.url, `/api/runs/${run.id}/stop`, { method: 'POST' });
      await card.getByText('nothing running').waitFor({ timeout: WAIT_MS });
    },
  );

  assert.deepEqual(pageErrors, []);
});
