// Pause / Resume / Stop in the dashboard, in a real browser against the real server: against the
// CLI runner holding the control channel, a producer that has not confirmed yet, and no producer.
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrowserContextOptions, Page } from 'playwright-core';
import type { AgentEvent, Run } from '../shared/types.ts';
import { browserFor, browserSuite } from './helpers/browser.ts';
import { cliFor, storedEvents, storedRun } from './helpers/cli.ts';
import { waitFor } from './helpers/wait.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

const WAIT_MS = 20_000;
/** How long a paused runner is watched for events it should not send. */
const QUIET_WATCH_MS = 1000;
const ARTEFACTS = new URL('../test-results/', import.meta.url);

test('dashboard run controls', { timeout: 120_000, ...browserSuite }, async (t) => {
  mkdirSync(ARTEFACTS, { recursive: true });
  const browser = await browserFor(t);
  const server = await serverFor(t);
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  async function openRun(id: string, options: BrowserContextOptions = {}): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      ...options,
    });
    t.after(() => context.close());
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${server.url}/#/runs/${id}`);
    await page.locator('.run-header .run-id', { hasText: id }).waitFor({ timeout: WAIT_MS });
    return page;
  }

  const button = (page: Page, name: 'Pause' | 'Resume' | 'Stop') =>
    page.getByRole('button', { name: `${name} the run` });
  const badge = (page: Page, status: string) =>
    page
      .locator(`.run-header .status-badge[data-status="${status}"]`)
      .waitFor({ timeout: WAIT_MS });
  const marker = (page: Page, text: string) =>
    page.locator('.run-header .producer', { hasText: text }).waitFor({ timeout: WAIT_MS });
  const note = (page: Page) => page.locator('.run-controls .control-note');

  async function enabledControls(page: Page): Promise<string[]> {
    const names: string[] = [];
    for (const name of ['Pause', 'Resume', 'Stop'] as const) {
      const b = button(page, name);
      if ((await b.isVisible()) && (await b.isEnabled())) names.push(name);
    }
    return names;
  }

  async function createRun(id: string, status = 'running'): Promise<Run> {
    const res = await api<Run>(server.url, '/api/runs', { body: { id, title: id, status } });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  async function eventsOf(id: string, type: string): Promise<AgentEvent[]> {
    return (await storedEvents(server.url, id)).filter((event) => event.type === type);
  }

  await t.test('against the CLI runner', async (t) => {
    const runner = cliFor(t, [
      '--steps',
      '200',
      '--interval',
      '100',
      '--server',
      server.url,
      '--id',
      'ctl-cli',
      '--title',
      'Controlled by the dashboard',
      '--quiet',
    ]);
    await waitFor('the runner to hold the control channel', async () => {
      const res = await api<Run>(server.url, '/api/runs/ctl-cli');
      return res.status === 200 && res.body.control?.producerAttached ? true : undefined;
    });
    const page = await openRun('ctl-cli');

    await t.test('marks the producer attached; only Pause and Stop are enabled', async () => {
      await marker(page, 'producer attached');
      await badge(page, 'running');
      assert.deepEqual(await enabledControls(page), ['Pause', 'Stop']);
    });

    let pausedAt = 0;
    await t.test(
      'Pause shows the request pending, then "paused" once the runner confirms',
      async () => {
        // Every text the pending note shows, however briefly: the runner confirms within milliseconds.
        await note(page).evaluate((node) => {
          const seen: string[] = [];
          (window as unknown as { notes: string[] }).notes = seen;
          new MutationObserver(() => seen.push(node.textContent ?? '')).observe(node, {
            childList: true,
            characterData: true,
            subtree: true,
          });
        });
        await button(page, 'Pause').click();
        await badge(page, 'paused');
        const notes = await page.evaluate(() => (window as unknown as { notes: string[] }).notes);
        assert.ok(
          notes.some((text) => text.startsWith('Pausing…')),
          `pending state shown: ${JSON.stringify(notes)}`,
        );
        await page.locator('.control-note:empty').waitFor({ state: 'attached', timeout: WAIT_MS });
        assert.deepEqual(await enabledControls(page), ['Resume', 'Stop']);
        const [paused] = await eventsOf('ctl-cli', 'run.paused');
        assert.equal(paused?.payload.by, 'producer');
        assert.equal((await eventsOf('ctl-cli', 'run.pause_requested')).length, 1);
      },
    );

    await t.test('the paused runner sends nothing more', async () => {
      pausedAt = (await storedRun(server.url, 'ctl-cli')).lastSeq;
      const shown = await page.locator('.fact-events dd').innerText();
      await sleep(QUIET_WATCH_MS);
      assert.equal((await storedRun(server.url, 'ctl-cli')).lastSeq, pausedAt);
      assert.equal(await page.locator('.fact-events dd').innerText(), shown);
      assert.equal(runner.proc.exitCode, null);
    });

    await t.test('Resume: running again and events flow', async () => {
      await button(page, 'Resume').click();
      await badge(page, 'running');
      await waitFor('the runner to send steps again', async () =>
        (await storedRun(server.url, 'ctl-cli')).lastSeq > pausedAt + 3 ? true : undefined,
      );
      assert.equal((await eventsOf('ctl-cli', 'run.resumed'))[0]?.payload.by, 'producer');
      assert.deepEqual(await enabledControls(page), ['Pause', 'Stop']);
    });

    await t.test('Stop asks first; confirmed, the run is stopped and the CLI exits 4', async () => {
      await button(page, 'Stop').click();
      const confirm = page.getByRole('button', { name: 'Confirm stop' });
      await confirm.waitFor({ timeout: WAIT_MS });
      assert.equal(await button(page, 'Stop').isVisible(), false);
      // Cancel sends nothing.
      await page.getByRole('button', { name: 'Cancel stop' }).click();
      await button(page, 'Stop').waitFor({ timeout: WAIT_MS });
      assert.equal((await eventsOf('ctl-cli', 'run.stop_requested')).length, 0);
      // Escape in the confirmation cancels it too, and keeps the run open.
      await button(page, 'Stop').click();
      await page.keyboard.press('Escape');
      await button(page, 'Stop').waitFor({ timeout: WAIT_MS });
      assert.match(page.url(), /#\/runs\/ctl-cli$/);

      await button(page, 'Stop').click();
      await confirm.click();
      await badge(page, 'stopped');
      const result = await runner.exited;
      assert.equal(result.code, 4, result.stderr);
      assert.equal((await eventsOf('ctl-cli', 'run.stopped')).length, 1);
      assert.deepEqual(await enabledControls(page), []);
      assert.equal(await page.locator('.run-header .producer').isVisible(), false);
    });
  });

  await t.test('a producer that has not confirmed yet keeps the request pending', async () => {
    await createRun('ctl-waiting');
    // This test holds the control channel and answers only when told to, like a busy producer.
    const channel = new AbortController();
    const held = await fetch(`${server.url}/api/runs/ctl-waiting/control`, {
      signal: channel.signal,
    });
    assert.equal(held.status, 200);
    try {
      for (const colorScheme of ['light', 'dark'] as const) {
        const page = await openRun('ctl-waiting', { colorScheme });
        await marker(page, 'producer attached');
        if (colorScheme === 'light') {
          await button(page, 'Pause').click();
          // The click only sends the request; wait for the server to record it as pending.
          await waitFor('the pause request to be pending on the server', async () =>
            (await storedRun(server.url, 'ctl-waiting')).control?.pending === 'pause'
              ? true
              : undefined,
          );
        }
        await page
          .locator('.control-note', { hasText: 'Pausing… waiting for the producer' })
          .waitFor({ timeout: WAIT_MS });
        await badge(page, 'running');
        assert.deepEqual(await enabledControls(page), ['Stop']);
        const shot = new URL(
          colorScheme === 'light' ? 'dashboard-control.png' : 'dashboard-control-dark.png',
          ARTEFACTS,
        );
        await page.screenshot({ path: shot.pathname });
        assert.ok(statSync(shot).size > 10_000);
        if (colorScheme === 'dark') {
          // The producer confirms: the status moves and the pending note goes.
          const res = await api(server.url, '/api/runs/ctl-waiting/events', {
            body: { type: 'run.paused', payload: { by: 'producer' } },
          });
          assert.equal(res.status, 201, res.text);
          await badge(page, 'paused');
          await page
            .locator('.control-note:empty')
            .waitFor({ state: 'attached', timeout: WAIT_MS });
          assert.deepEqual(await enabledControls(page), ['Resume', 'Stop']);
          channel.abort();
          // The server notes when the channel closed; the header says so in plain words.
          await marker(page, 'producer disconnected');
        }
      }
    } finally {
      channel.abort();
    }
  });

  await t.test('with no producer, Pause is applied by the server at once', async () => {
    await createRun('ctl-orphan');
    const page = await openRun('ctl-orphan');
    await marker(page, 'no producer connected');
    await button(page, 'Pause').click();
    await badge(page, 'paused');
    // The live feed can bring the new status before the POST's own answer settles the request.
    await page
      .locator('.run-controls .control-note:empty')
      .waitFor({ state: 'attached', timeout: WAIT_MS });
    assert.equal(await note(page).innerText(), '');
    assert.equal((await eventsOf('ctl-orphan', 'run.paused'))[0]?.payload.by, 'server');
    await button(page, 'Stop').click();
    await page.getByRole('button', { name: 'Confirm stop' }).click();
    await badge(page, 'stopped');
    assert.deepEqual(await enabledControls(page), []);
  });

  await t.test('a finished run has no enabled control', async () => {
    for (const status of ['completed', 'error', 'stopped']) {
      await createRun(`ctl-${status}`, status);
      const page = await openRun(`ctl-${status}`);
      await badge(page, status);
      assert.deepEqual(await enabledControls(page), []);
      assert.equal(await page.locator('.run-controls button:enabled:visible').count(), 0);
    }
  });

  await t.test('a refused or failed request shows why', async () => {
    await createRun('ctl-refused');
    const page = await openRun('ctl-refused');
    await badge(page, 'running');
    // Cut the run feed (from a fresh load) so the page still shows the run running after it has
    // completed: the click then asks for what the server no longer allows.
    await page.route('**/api/stream', (route) => route.abort());
    await page.reload();
    await badge(page, 'running');
    const patched = await api(server.url, '/api/runs/ctl-refused', {
      method: 'PATCH',
      body: { status: 'completed' },
    });
    assert.equal(patched.status, 200, patched.text);
    await button(page, 'Pause').click();
    const error = page.locator('.control-error');
    await error.waitFor({ timeout: WAIT_MS });
    assert.equal(
      await error.locator('.control-error-text').innerText(),
      'cannot pause run "ctl-refused": its status is completed; pause is allowed from running',
    );
    // The refusal brings the real run: its status, and no control left to press.
    await badge(page, 'completed');
    assert.deepEqual(await enabledControls(page), []);
    await page.getByRole('button', { name: 'Dismiss the control error' }).click();
    assert.equal(await error.isVisible(), false);

    await createRun('ctl-offline');
    const offline = await openRun('ctl-offline');
    await offline.route('**/api/runs/ctl-offline/stop', (route) => route.abort());
    await button(offline, 'Stop').click();
    await offline.getByRole('button', { name: 'Confirm stop' }).click();
    await offline
      .locator('.control-error', { hasText: 'Could not reach the server to stop the run' })
      .waitFor({ timeout: WAIT_MS });
    assert.equal(await offline.locator('.control-note').innerText(), '');
    assert.deepEqual(await enabledControls(offline), ['Pause', 'Stop']);
  });

  await t.test('every control has a name; no script error and no dialog', async () => {
    const page = await openRun('ctl-orphan');
    await badge(page, 'stopped');
    const unnamed = await page.$$eval('.run-header button', (nodes) =>
      nodes
        .filter((node) => !(node.getAttribute('aria-label') || node.textContent?.trim()))
        .map((node) => node.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unnamed, []);
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(dialogs, []);
  });
});
