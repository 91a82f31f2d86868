// The dashboard at its edges, in a real browser against the real server: a run whose oldest events
// retention removed, a tab that is hidden while events arrive, and a deep link opened before its
// run exists.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { EventInput, Health } from '../shared/types.ts';
import { browserFor, browserSuite, renderedSeqs } from './helpers/browser.ts';
import { api } from './helpers/http.ts';
import { serverFor, startServer, tempDir, type ServerHandle } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WAIT_MS = 10_000;
/** A stream that lost its server retries with a backoff of up to 10 s. */
const RECONNECT_WAIT_MS = 30_000;

/** Checks `check` over `polls` polls, 50 ms apart; fails as soon as it does not hold. */
async function holds(what: string, polls: number, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < polls; i++) {
    assert.ok(await check(), what);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const isRun = (seqs: number[], first: number, last: number) =>
  seqs.length === last - first + 1 && seqs.every((seq, i) => seq === first + i);

const ticks = (count: number, from: number): EventInput[] =>
  Array.from({ length: count }, (_, i) => ({
    type: 'tick',
    payload: { message: `tick ${from + i}` },
  }));

/** Makes the page believe its tab was hidden or shown, as switching tabs would. */
function setVisibility(page: Page, hidden: boolean): Promise<void> {
  return page.evaluate((hidden) => {
    Object.defineProperty(document, 'visibilityState', {
      value: hidden ? 'hidden' : 'visible',
      configurable: true,
    });
    Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('dashboard edges', { timeout: 120_000, ...browserSuite }, async (t) => {
  const browser = await browserFor(t);
  // The hidden-tab run needs a server without retention, which would soon remove its events.
  const server = await serverFor(t, { args: ['--retention', '15'] });
  const plain = await serverFor(t);
  const pageErrors: string[] = [];

  async function openPage(url: string, path: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url + path);
    return page;
  }

  async function post(url: string, runId: string, events: EventInput[]): Promise<void> {
    const res = await api(url, `/api/runs/${runId}/events`, { body: events });
    assert.equal(res.status, 201, res.text.slice(0, 300));
  }

  await t.test(
    'a run whose old events retention removed starts at the first kept one and stays live',
    async () => {
      await post(server.url, 'old', ticks(10, 1));
      await post(server.url, 'new', ticks(10, 1));
      await waitFor(
        'the store to shrink to the retention bound',
        async () => (await api<Health>(server.url, '/health')).body.store.events <= 15,
      );
      const page = await openPage(server.url, '#/runs/old');
      const notice = page.locator('.retention-notice');
      await waitFor('the retention notice', () => notice.isVisible());
      assert.equal(
        (await notice.textContent())?.trim(),
        '10 earlier events were removed by retention',
      );
      await holds('no row stays "loading…"', 20, async () => {
        return (await page.locator('.event-row.loading').count()) === 0;
      });
      assert.deepEqual(await renderedSeqs(page), [], 'no rows for the removed events');

      await post(server.url, 'old', [
        { type: 'after.retention', payload: { message: 'still here' } },
      ]);
      await waitFor('seq 11 to appear live', async () => isRun(await renderedSeqs(page), 11, 11));
      assert.equal(await page.locator('.event-row.loading').count(), 0);
      assert.ok(await notice.isVisible(), 'the notice stays above the first kept event');
      await page.context().close();
    },
  );

  await t.test(
    'a hidden tab draws nothing new, then shows every event in order once visible',
    async () => {
      await post(plain.url, 'hid', ticks(5, 1));
      const page = await openPage(plain.url, '#/runs/hid');
      await waitFor('the first five rows', async () => isRun(await renderedSeqs(page), 1, 5));

      await setVisibility(page, true);
      await post(plain.url, 'hid', ticks(10, 6));
      await waitFor(
        'the header to count the events sent while hidden',
        async () => (await page.locator('.fact-events dd').textContent())?.trim() === '15',
      );
      await holds('no row is drawn while the tab is hidden', 10, async () =>
        isRun(await renderedSeqs(page), 1, 5),
      );

      await setVisibility(page, false);
      await waitFor('every event, in order, with no gap', async () =>
        isRun(await renderedSeqs(page), 1, 15),
      );
      assert.equal(await page.locator('.event-row.loading').count(), 0);
      const atEnd = await page.$eval('.event-list', (list) => {
        const last = list.querySelector<HTMLElement>('.event-row[data-seq="15"]')!;
        return last.getBoundingClientRect().bottom <= list.getBoundingClientRect().bottom + 1;
      });
      assert.ok(atEnd, 'the newest event is in view at the bottom');

      await post(plain.url, 'hid', ticks(1, 16));
      await waitFor('live events to keep coming', async () =>
        isRun(await renderedSeqs(page), 1, 16),
      );
      await page.context().close();
    },
  );

  await t.test(
    'a deep link to a run that does not exist yet says so, then opens the run once it appears',
    async () => {
      const page = await openPage(plain.url, '#/runs/not-yet');
      await page
        .locator('.placeholder', { hasText: 'No run with id "not-yet" yet' })
        .waitFor({ timeout: WAIT_MS });
      await post(plain.url, 'not-yet', ticks(3, 1));
      await page
        .locator('.run-header .run-id', { hasText: 'not-yet' })
        .waitFor({ timeout: WAIT_MS });
      await waitFor('its events', async () => isRun(await renderedSeqs(page), 1, 3));
      await post(plain.url, 'not-yet', ticks(1, 4));
      await waitFor('its events to stream in live', async () =>
        isRun(await renderedSeqs(page), 1, 4),
      );
      await page.context().close();
    },
  );

  await t.test(
    'a deep link opens a run created while the page was asking for it (its 404 crossed the run)',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      // The server's 404 for the run is held until the run exists and the runs list has shown
      // it: the page learns of the run from the feed before it reads that the run is missing.
      await context.route(
        '**/api/runs/crossed',
        async (route) => {
          const missing = await route.fetch();
          assert.equal(missing.status(), 404);
          await post(plain.url, 'crossed', ticks(2, 1));
          await page.locator('.run-row[data-run-id="crossed"]').waitFor({ timeout: WAIT_MS });
          await route.fulfill({ response: missing });
        },
        { times: 1 },
      );
      await page.goto(`${plain.url}/#/runs/crossed`);
      await page
        .locator('.run-header .run-id', { hasText: 'crossed' })
        .waitFor({ timeout: WAIT_MS });
      await waitFor('its events', async () => isRun(await renderedSeqs(page), 1, 2));
      await context.close();
    },
  );

  await t.test(
    'a deep link opens its run when the runs feed comes back, if the run began while it was away',
    async (st) => {
      const dataDir = tempDir();
      const servers: ServerHandle[] = [];
      st.after(async () => {
        await Promise.all(servers.map((s) => s.stop()));
        rmSync(dataDir, { recursive: true, force: true });
      });
      const first = await startServer({ dataDir });
      servers.push(first);
      const page = await openPage(first.url, '#/runs/while-away');
      await page
        .locator('.placeholder', { hasText: 'No run with id "while-away" yet' })
        .waitFor({ timeout: WAIT_MS });
      // The feed stays away until the run exists on the restarted server, so the page is never
      // told of it: only its own reconnect can find it.
      await page.context().route('**/api/stream', (route) => route.abort());
      await first.kill();
      await page
        .locator('.sidebar .connection', { hasText: 'offline' })
        .waitFor({ timeout: WAIT_MS });
      const again = await startServer({ dataDir, port: first.port });
      servers.push(again);
      await post(again.url, 'while-away', ticks(1, 1));
      await page.context().unroute('**/api/stream');
      await page.locator('.run-header .run-id', { hasText: 'while-away' }).waitFor({
        timeout: RECONNECT_WAIT_MS,
      });
      await waitFor('its event', async () => isRun(await renderedSeqs(page), 1, 1));
      await page.context().close();
    },
  );

  assert.deepEqual(pageErrors, []);
});
