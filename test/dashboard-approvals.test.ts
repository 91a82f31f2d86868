// The approval card, the list badge, the tab title and the directive box, in a real browser
// against the real server: decided here, decided elsewhere, timed out, and at phone width.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { AgentEvent } from '../shared/types.ts';
import { browserFor, browserSuite } from './helpers/browser.ts';
import { cliFor, storedEvents } from './helpers/cli.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WAIT_MS = 20_000;
const HOSTILE = '<img src=x onerror="window.__pwned=1">';

test('dashboard approvals', { timeout: 120_000, ...browserSuite }, async (t) => {
  const browser = await browserFor(t);
  const server = await serverFor(t);
  const { url } = server;
  const pageErrors: string[] = [];

  async function open(hash: string, width = 1280): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    t.after(() => context.close());
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${url}/${hash}`);
    return page;
  }
  const createRun = async (id: string) =>
    assert.equal((await api(url, '/api/runs', { body: { id, title: `run ${id}` } })).status, 201);
  const ask = (runId: string, payload: object) =>
    api(url, `/api/runs/${runId}/events`, { body: { type: 'approval.requested', payload } });
  const card = (page: Page) => page.locator('.approval-card');

  await t.test('the card shows the request as text; Approve with a note decides it', async () => {
    await createRun('card-1');
    await ask('card-1', {
      approvalId: 'deploy',
      title: `Deploy ${HOSTILE}?`,
      detail: `Ships ${HOSTILE}`,
      toolName: 'Bash',
      args: { command: 'make deploy', env: { STAGE: 'prod' } },
      timeoutS: 3600,
    });
    const page = await open('#/runs/card-1');
    await card(page).waitFor({ timeout: WAIT_MS });
    assert.equal(await card(page).locator('.approval-title').textContent(), `Deploy ${HOSTILE}?`);
    await page.locator('.approval-text').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('.approval-text').textContent(), `Ships ${HOSTILE}`);
    assert.equal(await page.locator('.approval-tool').textContent(), 'Bash');
    assert.equal(
      await page.locator('.approval-args').textContent(),
      JSON.stringify({ command: 'make deploy', env: { STAGE: 'prod' } }, null, 2),
    );
    assert.equal(await page.locator('.approval-card img').count(), 0, 'text, never markup');
    assert.equal(await page.evaluate(() => (window as any).__pwned), undefined);
    assert.match((await page.locator('.approval-left').textContent()) ?? '', /left, then deny$/);
    await page
      .locator('.run-row[data-run-id="card-1"] .approval-badge', { hasText: '1 waiting' })
      .waitFor({ timeout: WAIT_MS });
    await waitFor('the count in the tab title', async () =>
      (await page.title()).startsWith('(1) '),
    );

    await page.getByLabel(`Note for Deploy ${HOSTILE}?`).fill('go ahead');
    await page.getByRole('button', { name: `Approve: Deploy ${HOSTILE}?` }).click();
    await card(page).waitFor({ state: 'detached', timeout: WAIT_MS });
    const decided = (await storedEvents(url, 'card-1')).find((e) => e.type === 'approval.decided');
    assert.deepEqual(decided.payload, {
      approvalId: 'deploy',
      decision: 'approve',
      by: 'dashboard',
      note: 'go ahead',
    });
    await waitFor('the title without a count', async () => !(await page.title()).startsWith('('));
    await page.locator('.run-row[data-run-id="card-1"] .approval-badge').waitFor({
      state: 'hidden',
      timeout: WAIT_MS,
    });
  });

  await t.test(
    'a decision made elsewhere or by a timeout updates an open card at once',
    async () => {
      await createRun('card-2');
      await ask('card-2', { approvalId: 'a', title: 'Decided by the CLI?' });
      const page = await open('#/runs/card-2');
      const other = await open('#/runs/card-2');
      const cards = async () => [await card(page).count(), await card(other).count()];
      await waitFor('the card in both tabs', async () => (await cards()).join() === '1,1');
      await api(url, '/api/runs/card-2/approvals/a', { body: { decision: 'deny' } });
      await waitFor(
        'the decided card gone from both',
        async () => (await cards()).join() === '0,0',
      );
      await ask('card-2', { approvalId: 'b', title: 'Timed out?', timeoutS: 4 });
      await waitFor(
        'the new card in both tabs (or already timed out)',
        async () =>
          (await cards()).join() === '1,1' ||
          (await storedEvents(url, 'card-2')).some(
            (e) => e.payload.approvalId === 'b' && e.type === 'approval.decided',
          ),
      );
      await waitFor(
        'the timed-out card gone from both',
        async () => (await cards()).join() === '0,0',
      );
      const timedOut = (await storedEvents(url, 'card-2')).find(
        (e: AgentEvent) => e.type === 'approval.decided' && e.payload.approvalId === 'b',
      );
      assert.equal(timedOut?.payload.by, 'timeout');
    },
  );

  await t.test('Deny from a stale card says who decided first', async () => {
    await createRun('card-3');
    await ask('card-3', { approvalId: 'x', title: 'Raced?' });
    const page = await open('#/runs/card-3');
    await card(page).waitFor({ timeout: WAIT_MS });
    // Decided behind the page's back, before the page hears of it: the click gets the 409.
    await page.route('**/api/runs/card-3/approvals/x', async (route) => {
      await api(url, '/api/runs/card-3/approvals/x', { body: { decision: 'approve', by: 'ana' } });
      await route.continue();
    });
    await page.getByRole('button', { name: 'Deny: Raced?' }).click();
    await page
      .locator('.approval-error', { hasText: 'already decided: approve by "ana"' })
      .waitFor({ timeout: WAIT_MS })
      .catch(async (error) => {
        // The card may already be gone if the page heard the decision first; either is right.
        if ((await card(page).count()) !== 0) throw error;
      });
    const decisions = (await storedEvents(url, 'card-3')).filter(
      (e) => e.type === 'approval.decided',
    );
    assert.equal(decisions.length, 1);
  });

  await t.test(
    'the directive box reaches a runner, and says when a process reads none',
    async () => {
      const runner = cliFor(t, [
        '--id',
        'dir-1',
        '--steps',
        '400',
        '--interval',
        '100',
        '--server',
        url,
      ]);
      await waitFor(
        'the runner attached',
        async () => (await api(url, '/api/runs/dir-1')).body?.control?.producerAttached,
      );
      const page = await open('#/runs/dir-1');
      await page.getByLabel('Directive for the running agent').fill('skip the flaky test');
      await page.getByRole('button', { name: 'Send directive' }).click();
      await page
        .locator('.directive-status', { hasText: 'delivered ✓' })
        .waitFor({ timeout: WAIT_MS });
      await runner.waitFor(
        (_out, err) => err.includes('directive: skip the flaky test'),
        'the log',
      );

      await api(url, '/api/runs', { body: { id: 'dir-2', metadata: { directives: 'none' } } });
      const quiet = await open('#/runs/dir-2');
      await quiet
        .locator('.directive-hint', { hasText: 'does not read directives' })
        .waitFor({ timeout: WAIT_MS });
    },
  );

  await t.test('at phone width the card fits and decides', async () => {
    await createRun('card-4');
    await ask('card-4', {
      approvalId: 'p',
      title: 'Phone approval with a rather long title that has to wrap on a narrow screen?',
      args: { command: 'x'.repeat(200) },
    });
    const page = await open('#/runs/card-4', 390);
    await card(page).waitFor({ timeout: WAIT_MS });
    for (const name of ['Approve', 'Deny']) {
      const box = await page.locator(`.approval-${name.toLowerCase()}`).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${name} within the screen`);
    }
    const cardBox = await card(page).boundingBox();
    assert.ok(cardBox && cardBox.x + cardBox.width <= 390, 'the card within the screen');
    await page.locator('.approval-deny').click();
    await card(page).waitFor({ state: 'detached', timeout: WAIT_MS });
  });

  await t.test('no page error', () => {
    assert.deepEqual(pageErrors, []);
  });
});
