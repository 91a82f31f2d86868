// The dashboard at its edges, in a real browser against the real server: a run whose oldest events
// retention removed, and a tab that is hidden while events arrive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { EventInput, Health } from '../shared/types.ts';
import { browserFor, browserSuite, renderedSeqs } from './helpers/browser.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WAIT_MS = 10_000;

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

test('dashboard edges', { timeout: 60_000, ...browserSuite }, async (t) => {
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

  assert.deepEqual(pageErrors, []);
});
