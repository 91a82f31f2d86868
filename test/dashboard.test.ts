// The dashboard in a real browser (Debian's chromium through playwright-core) against the real
// server: the "Done when" list of the live-dashboard issue, one subtest each.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { MAX_BATCH_EVENTS } from '../shared/constants.ts';
import type { EventInput, Run } from '../shared/types.ts';
import { browserFor, browserSuite, renderedSeqs } from './helpers/browser.ts';
import { api } from './helpers/http.ts';
import { CLI, serverFor, startServer, type ServerHandle } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WAIT_MS = 20_000;
const ARTEFACTS = new URL('../test-results/', import.meta.url);
const HOSTILE = '<img src=x onerror=alert(1)>';

function runCli(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', resolve));
}

/** The seqs of the rows inside the visible part of the list. */
async function visibleSeqs(page: Page): Promise<number[]> {
  return page.$$eval('.event-list', ([list]) => {
    const box = list!.getBoundingClientRect();
    return [...list!.querySelectorAll<HTMLElement>('.event-row:not(.loading)')]
      .filter((row) => {
        const r = row.getBoundingClientRect();
        return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
      })
      .map((row) => Number(row.dataset.seq))
      .sort((a, b) => a - b);
  });
}

test('dashboard', { timeout: 240_000, ...browserSuite }, async (t) => {
  mkdirSync(ARTEFACTS, { recursive: true });
  const browser = await browserFor(t);
  const server = await serverFor(t);
  /** Servers a subtest starts and restarts on one data directory; stopped when the suite ends. */
  const servers: ServerHandle[] = [];
  t.after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  async function openPage(
    base: string,
    path: string,
    options: BrowserContextOptions = {},
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      ...options,
    });
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(base + path);
    return { page, context };
  }

  async function createRun(
    body: { id: string; title?: string; metadata?: object },
    base = server.url,
    headers: Record<string, string> = {},
  ): Promise<Run> {
    const res = await api<Run>(base, '/api/runs', {
      body: { status: 'running', ...body },
      headers,
    });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  async function post(
    runId: string,
    events: EventInput[],
    base = server.url,
    headers: Record<string, string> = {},
  ): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_BATCH_EVENTS) {
      const res = await api(base, `/api/runs/${runId}/events`, {
        body: events.slice(i, i + MAX_BATCH_EVENTS),
        headers,
      });
      assert.equal(res.status, 201, res.text.slice(0, 300));
    }
  }

  const ticks = (count: number, from = 1): EventInput[] =>
    Array.from({ length: count }, (_, i) => ({
      type: 'tick',
      payload: { message: `tick ${from + i}` },
    }));

  await t.test('a CLI run appears in the list live and its events stream in', async () => {
    const { page, context } = await openPage(server.url, '/');
    await page.locator('.sidebar .connection', { hasText: 'live' }).waitFor({ timeout: WAIT_MS });
    const cli = runCli([
      '--steps',
      '15',
      '--interval',
      '150',
      '--server',
      server.url,
      '--id',
      'cli-live',
      '--title',
      'CLI live run',
      '--quiet',
    ]);
    const row = page.locator('.run-row[data-run-id="cli-live"]');
    await row.waitFor({ timeout: WAIT_MS });
    assert.match(await row.innerText(), /CLI live run/);
    await row.click();
    await page.locator('.run-title', { hasText: 'CLI live run' }).waitFor({ timeout: WAIT_MS });
    // Events arrive while the run is still going, then the run completes on screen.
    await waitFor('some events before the run ends', async () => {
      const seqs = await renderedSeqs(page);
      const status = await page.locator('.run-header .status-badge').getAttribute('data-status');
      return seqs.length > 0 && status === 'running' ? seqs : undefined;
    });
    assert.equal(await cli, 0);
    await page
      .locator('.run-header .status-badge[data-status="completed"]')
      .waitFor({ timeout: WAIT_MS });
    const run = (await api<Run>(server.url, '/api/runs/cli-live')).body;
    await waitFor('every event of the run', async () =>
      (await renderedSeqs(page)).includes(run.lastSeq),
    );
    assert.equal(await page.locator('.event-row .type', { hasText: 'run.completed' }).count(), 1);
    const tail = await renderedSeqs(page);
    const from = run.lastSeq - tail.length + 1;
    assert.deepEqual(
      tail,
      Array.from({ length: tail.length }, (_, i) => from + i),
    );
    await page.locator('.event-list').focus();
    await page.keyboard.press('Home');
    await waitFor('the first event in view', async () => (await visibleSeqs(page))[0] === 1);
    await page
      .locator('.run-row[data-run-id="cli-live"][data-status="completed"]')
      .waitFor({ timeout: WAIT_MS });
    await context.close();
  });

  await t.test('a --failAt run shows its error status and its message', async () => {
    const code = await runCli([
      '--steps',
      '6',
      '--interval',
      '10',
      '--failAt',
      '3',
      '--server',
      server.url,
      '--id',
      'cli-fail',
      '--quiet',
    ]);
    assert.equal(code, 1);
    const run = (await api<Run>(server.url, '/api/runs/cli-fail')).body;
    assert.ok(run.errorMessage, 'the CLI sets an error message');
    const { page, context } = await openPage(server.url, '/#/runs/cli-fail');
    await page
      .locator('.run-header .status-badge[data-status="error"]')
      .waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('.run-error-text').innerText(), run.errorMessage);
    await page
      .locator('.event-row.is-error .type', { hasText: 'run.error' })
      .waitFor({ timeout: WAIT_MS });
    await page
      .locator('.run-row[data-run-id="cli-fail"][data-status="error"]')
      .waitFor({ timeout: WAIT_MS });
    await page.getByRole('button', { name: 'Show the event that failed the run' }).click();
    await page.locator('.inspector-title', { hasText: 'run.error' }).waitFor({ timeout: WAIT_MS });
    assert.equal(
      await page.locator('.event-row.selected .type').innerText(),
      'run.error',
      'the failing event is selected in the timeline',
    );
    await context.close();
  });

  await t.test('metadata is shown: cost, tags, totalSteps and any other key', async () => {
    await createRun({
      id: 'with-metadata',
      metadata: { costUsd: 0.1234, tags: ['nightly', 'checkout'], totalSteps: 7, owner: 'ci-bot' },
    });
    const { page, context } = await openPage(server.url, '/#/runs/with-metadata');
    const metadata = page.locator('.run-metadata');
    await metadata.waitFor({ timeout: WAIT_MS });
    const items = await metadata
      .locator('.meta-item')
      .evaluateAll((nodes) =>
        nodes.map((node) => [
          node.querySelector('dt')!.textContent,
          node.querySelector('dd')!.textContent,
        ]),
      );
    assert.deepEqual(items, [
      ['costUsd', '$0.1234'],
      ['tags', 'nightly, checkout'],
      ['totalSteps', '7'],
      ['owner', 'ci-bot'],
    ]);
    await context.close();
  });

  await t.test(
    'usage totals the server copies into metadata are shown once, as facts, not again as metadata',
    async () => {
      await createRun({ id: 'with-usage', metadata: { owner: 'ci-bot' } });
      const report = await api(server.url, '/api/runs/with-usage/events', {
        body: {
          type: 'usage.report',
          payload: { inputTokens: 1200, outputTokens: 34, costUsd: 0.5 },
        },
      });
      assert.equal(report.status, 201, report.text);
      const stored = await api<Run>(server.url, '/api/runs/with-usage');
      assert.equal(stored.body.metadata.costUsd, 0.5, 'the server copies the totals in');
      const { page, context } = await openPage(server.url, '/#/runs/with-usage');
      await page.locator('.run-facts').getByText('$0.5000').waitFor({ timeout: WAIT_MS });
      const keys = await page.locator('.run-metadata .meta-item dt').allTextContents();
      assert.deepEqual(keys, ['owner']);
      await context.close();
    },
  );

  await t.test(
    'Freeze view holds the view and buffers what arrives; Follow shows all of it',
    async () => {
      await createRun({ id: 'pausing' });
      await post('pausing', ticks(5));
      const { page, context } = await openPage(server.url, '/#/runs/pausing');
      await waitFor('the first five events', async () => (await renderedSeqs(page)).at(-1) === 5);
      await page.getByRole('button', { name: 'Freeze the view' }).click();
      await post('pausing', ticks(30, 6));
      await page
        .locator('.new-events', { hasText: '30 held · Follow ↓' })
        .waitFor({ timeout: WAIT_MS });
      assert.deepEqual(await renderedSeqs(page), [1, 2, 3, 4, 5]);
      await page.getByRole('button', { name: 'Follow the live events again' }).click();
      await waitFor(
        'all 35 events after resume',
        async () => (await renderedSeqs(page)).at(-1) === 35,
      );
      const seqs = await renderedSeqs(page);
      assert.deepEqual(
        seqs.slice(-30),
        Array.from({ length: 30 }, (_, i) => i + 6),
      );
      assert.ok((await visibleSeqs(page)).includes(35), 'the view follows the end again');
      await context.close();
    },
  );

  await t.test('scrolling up stops auto-scroll, and "N new ↓" brings it back', async () => {
    await createRun({ id: 'scrolling' });
    await post('scrolling', ticks(300));
    const { page, context } = await openPage(server.url, '/#/runs/scrolling');
    await waitFor('the last event in view', async () => (await visibleSeqs(page)).includes(300));
    await page.locator('.event-list').hover();
    await page.mouse.wheel(0, -2000);
    await waitFor('the view scrolled up', async () => !(await visibleSeqs(page)).includes(300));
    const before = await visibleSeqs(page);
    await post('scrolling', ticks(12, 301));
    const jump = page.getByRole('button', { name: 'Jump to the newest events' });
    await page.locator('.new-events', { hasText: '12 new ↓' }).waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await visibleSeqs(page), before, 'nothing moved under the reader');
    await jump.click();
    await waitFor('the newest event in view', async () => (await visibleSeqs(page)).includes(312));
    assert.equal(await jump.isHidden(), true);
    await post('scrolling', ticks(3, 313));
    await waitFor('following again', async () => (await visibleSeqs(page)).includes(315));
    await context.close();
  });

  await t.test('filter chips and search find events that are not loaded', async () => {
    await createRun({ id: 'needles' });
    const events = ticks(6000);
    events[9] = { type: 'tool.called', payload: { toolName: 'needle_tool', toolCallId: 'n1' } };
    events[19] = { type: 'note', level: 'warn', payload: { message: 'haystack-needle-42' } };
    await post('needles', events);
    const { page, context } = await openPage(server.url, '/#/runs/needles');
    await waitFor('the end of the run', async () => (await visibleSeqs(page)).includes(6000));
    assert.equal(await page.locator('.event-row:not(.loading)[data-seq="10"]').count(), 0);

    await page.locator('.chip[data-filter="family:tool"]').click();
    await page.locator('.event-row:not(.loading)[data-seq="10"]').waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await renderedSeqs(page), [10]);
    await page.locator('.chip[data-filter="family:tool"]').click();

    await page.getByLabel('Search events in this run').fill('HAYSTACK-needle-42');
    await page.locator('.event-row:not(.loading)[data-seq="20"]').waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await renderedSeqs(page), [20]);
    await page.getByLabel('Search events in this run').fill('');
    await page.locator('.chip[data-filter="level:warn"]').click();
    await waitFor('the warn event alone', async () => (await renderedSeqs(page)).join() === '20');
    await context.close();
  });

  await t.test('copy puts the payload on the clipboard', async () => {
    await createRun({ id: 'copying' });
    const payload = { message: 'copy me', nested: { list: [1, 2, 3], text: 'ü ✓' } };
    await post('copying', [{ type: 'task.done', payload }]);
    const { page, context } = await openPage(server.url, '/#/runs/copying', {
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    await page.locator('.event-row:not(.loading)[data-seq="1"]').click();
    await page.locator('.inspector-payload').waitFor({ timeout: WAIT_MS });
    assert.match(await page.locator('.inspector-payload').innerText(), /"copy me"/);
    await page.getByRole('button', { name: 'Copy the payload as JSON' }).click();
    await page.locator('.copy-status', { hasText: 'Copied' }).waitFor({ timeout: WAIT_MS });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.deepEqual(JSON.parse(copied), payload);
    await page.keyboard.press('Escape');
    await page.locator('.inspector').waitFor({ state: 'hidden', timeout: WAIT_MS });
    await context.close();
  });

  await t.test('keyboard: / searches, j and k move through events, Esc closes', async () => {
    await createRun({ id: 'keys' });
    await post('keys', ticks(5));
    const { page, context } = await openPage(server.url, '/#/runs/keys');
    await waitFor('the events', async () => (await renderedSeqs(page)).at(-1) === 5);
    await page.keyboard.press('/');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
      'Search events in this run',
    );
    await page.keyboard.press('Escape');
    await page.keyboard.press('j');
    await page.locator('.inspector-title', { hasText: 'tick' }).waitFor({ timeout: WAIT_MS });
    const first = await page.locator('.inspector-fields dd').first().innerText();
    await page.keyboard.press('j');
    await waitFor('the next event', async () => {
      const seq = await page.locator('.inspector-fields dd').first().innerText();
      return Number(seq) === Number(first) + 1;
    });
    await page.keyboard.press('k');
    await waitFor('the previous event', async () => {
      return (await page.locator('.inspector-fields dd').first().innerText()) === first;
    });
    await page.keyboard.press('Escape');
    await page.locator('.inspector').waitFor({ state: 'hidden', timeout: WAIT_MS });
    await page.keyboard.press('Escape');
    await page.waitForURL((url) => url.hash === '#/', { timeout: WAIT_MS });
    await page.getByText('Select a run to watch it live.').waitFor({ timeout: WAIT_MS });
    await page.keyboard.press('/');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
      'Search runs by title, id or metadata',
    );
    await context.close();
  });

  await t.test('export downloads the whole run as NDJSON', async () => {
    await createRun({ id: 'exporting' });
    await post('exporting', ticks(1200));
    const { page, context } = await openPage(server.url, '/#/runs/exporting');
    await waitFor('the run', async () => (await renderedSeqs(page)).at(-1) === 1200);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT_MS }),
      page.getByRole('button', { name: 'Export every event of this run as NDJSON' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'exporting.ndjson');
    const path = await download.path();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1200);
    assert.equal(JSON.parse(lines[1199]!).seq, 1200);
    await context.close();
  });

  await t.test('a deep link survives a reload', async () => {
    await createRun({ id: 'deep.link:1', title: 'Deep link target' });
    await post('deep.link:1', ticks(3));
    const { page, context } = await openPage(server.url, '/#/runs/deep.link%3A1');
    await page.locator('.run-title', { hasText: 'Deep link target' }).waitFor({ timeout: WAIT_MS });
    await page.reload();
    await page.locator('.run-title', { hasText: 'Deep link target' }).waitFor({ timeout: WAIT_MS });
    await waitFor('its events', async () => (await renderedSeqs(page)).join() === '1,2,3');
    await page
      .locator('.run-row[data-run-id="deep.link:1"][aria-current="page"]')
      .waitFor({ timeout: WAIT_MS });
    assert.equal(await page.title(), 'Deep link target · agent-ops');
    await context.close();
  });

  await t.test(
    'with a key set it asks once, keeps the key in sessionStorage and never in a URL',
    async () => {
      const keyed = await startServer({ env: { AGENTOPS_API_KEY: 'sesame-42' } });
      servers.push(keyed);
      const headers = { 'x-api-key': 'sesame-42' };
      await createRun({ id: 'keyed', title: 'Behind a key' }, keyed.url, headers);
      await post('keyed', ticks(4), keyed.url, headers);
      const urls: string[] = [];
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.on('request', (request) => urls.push(request.url()));
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(keyed.url + '/#/runs/keyed');

      const dialog = page.getByRole('dialog', { name: 'API key' });
      await dialog.waitFor({ timeout: WAIT_MS });
      assert.equal(
        await page.locator('dialog[open]').count(),
        1,
        'one prompt for every waiting request',
      );
      await dialog.getByLabel('API key', { exact: true }).fill('wrong-key');
      await dialog.getByRole('button', { name: 'Use this API key' }).click();
      await dialog.getByText('The server refused that key').waitFor({ timeout: WAIT_MS });
      await dialog.getByLabel('API key', { exact: true }).fill('sesame-42');
      await dialog.getByRole('button', { name: 'Use this API key' }).click();
      await page.locator('.run-title', { hasText: 'Behind a key' }).waitFor({ timeout: WAIT_MS });
      await waitFor('its events', async () => (await renderedSeqs(page)).join() === '1,2,3,4');
      await post('keyed', ticks(2, 5), keyed.url, headers);
      await waitFor(
        'live events over the keyed stream',
        async () => (await renderedSeqs(page)).at(-1) === 6,
      );
      assert.equal(
        await page.evaluate(() => sessionStorage.getItem('agent-ops.apiKey')),
        'sesame-42',
      );

      await page.reload();
      await waitFor(
        'the run again without a prompt',
        async () => (await renderedSeqs(page)).at(-1) === 6,
      );
      assert.equal(await page.locator('dialog[open]').count(), 0);
      assert.ok(urls.length > 0);
      for (const url of urls) assert.ok(!url.includes('sesame'), `the key is in a URL: ${url}`);
      await context.close();
    },
  );

  await t.test(
    'hostile strings in a title and a payload show as text and run nothing',
    async () => {
      const script = '<script>alert(2)</script>';
      await createRun({ id: 'hostile', title: HOSTILE, metadata: { note: script } });
      await post('hostile', [
        { type: 'task.note', agentId: HOSTILE, payload: { message: HOSTILE + script } },
        { type: HOSTILE.replace(/[^A-Za-z0-9]/g, '') || 'x', payload: { [HOSTILE]: script } },
      ]);
      const { page, context } = await openPage(server.url, '/#/runs/hostile');
      await page.locator('.event-row:not(.loading)[data-seq="2"]').waitFor({ timeout: WAIT_MS });
      assert.equal(await page.locator('.run-title').innerText(), HOSTILE);
      assert.match(
        await page.locator('.run-row[data-run-id="hostile"]').innerText(),
        /<img src=x onerror=alert\(1\)>/,
      );
      assert.equal(
        await page.locator('.event-row:not(.loading)[data-seq="1"] .summary').innerText(),
        HOSTILE + script,
      );
      assert.equal(
        await page.locator('.event-row:not(.loading)[data-seq="1"] .agent').innerText(),
        HOSTILE,
      );
      assert.equal(await page.locator('.meta-item dd').innerText(), script);
      await page.locator('.event-row:not(.loading)[data-seq="2"]').click();
      assert.equal(await page.locator('.inspector-payload .json-key').innerText(), `${HOSTILE}:`);
      assert.equal(
        await page.locator('.inspector-payload .json-string').innerText(),
        JSON.stringify(script),
      );
      assert.equal(await page.locator('img').count(), 0, 'no <img> element was made');
      assert.equal(await page.locator('body script').count(), 0, 'no <script> element was made');
      assert.deepEqual(dialogs, []);
      await context.close();
    },
  );

  await t.test(
    'a 50,000-event run opens at its last event with few rows rendered, and scrolls to its first',
    async () => {
      await createRun({ id: 'big' });
      await post('big', ticks(50_000));
      const { page, context } = await openPage(server.url, '/#/runs/big');
      await waitFor('the last event in view', async () =>
        (await visibleSeqs(page)).includes(50_000),
      );
      const rendered = await page.locator('.event-row').count();
      assert.ok(rendered > 0 && rendered <= 80, `rows in the DOM: ${rendered}`);
      await page.locator('.event-list').focus();
      await page.keyboard.press('Home');
      await waitFor('the first event in view', async () => (await visibleSeqs(page))[0] === 1);
      assert.ok((await page.locator('.event-row').count()) <= 80);
      // Dragging the scrollbar to the middle loads that page on demand.
      await page
        .locator('.event-list')
        .evaluate((list) => (list.scrollTop = list.scrollHeight / 2));
      await waitFor('events from the middle', async () => {
        const seqs = await visibleSeqs(page);
        return seqs.length > 0 && seqs[0]! > 20_000 && seqs[0]! < 30_000;
      });
      await context.close();
    },
  );

  await t.test(
    'the stream resumes after the server restarts, with no gap and no duplicate',
    async () => {
      const own = await startServer();
      servers.push(own);
      await createRun({ id: 'restart' }, own.url);
      const { page, context } = await openPage(own.url, '/#/runs/restart');
      await page
        .locator('.run-header .connection', { hasText: 'live' })
        .waitFor({ timeout: WAIT_MS });
      await post('restart', ticks(10), own.url);
      await waitFor('the first ten events', async () => (await renderedSeqs(page)).at(-1) === 10);
      const pageLoads: string[] = [];
      page.on('request', (request) => {
        // Timeline pages only: the Console tab's one "any output?" probe (type=…) is no hole filled.
        if (request.url().includes('/events?') && !request.url().includes('type='))
          pageLoads.push(request.url());
      });

      await own.kill();
      await page
        .locator('.run-header .connection', { hasText: 'retrying' })
        .waitFor({ timeout: WAIT_MS });
      const again = await startServer({ dataDir: own.dataDir, port: own.port });
      servers.push(again);
      await post('restart', ticks(10, 11), again.url);
      await waitFor('all twenty events', async () => (await renderedSeqs(page)).at(-1) === 20);
      await page
        .locator('.run-header .connection', { hasText: 'live' })
        .waitFor({ timeout: WAIT_MS });
      assert.deepEqual(
        await renderedSeqs(page),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      // Every event after the restart came over the resumed stream: no page had to fill a hole.
      assert.deepEqual(pageLoads, []);
      const summaries = await page.locator('.event-row .summary').allInnerTexts();
      assert.deepEqual(
        summaries,
        Array.from({ length: 20 }, (_, i) => `tick ${i + 1}`),
      );
      await context.close();
    },
  );

  await t.test('screenshots of the list and the run view, light and dark', async () => {
    const events: EventInput[] = [
      { type: 'run.started', payload: { message: 'Agent run initialized' } },
    ];
    for (let step = 1; step <= 12; step++) {
      events.push(
        {
          type: 'task.progress',
          agentId: 'planner',
          payload: { message: `Processing step ${step}`, metricName: 'progress', value: step * 8 },
        },
        {
          type: 'tool.called',
          agentId: 'worker',
          taskId: `t${step}`,
          payload: {
            toolName: ['read_file', 'bash', 'grep'][step % 3]!,
            toolCallId: `c${step}`,
            args: { path: `src/module-${step}.ts` },
          },
        },
        {
          type: 'tool.result',
          agentId: 'worker',
          taskId: `t${step}`,
          level: step === 7 ? 'error' : 'info',
          payload: {
            toolName: ['read_file', 'bash', 'grep'][step % 3]!,
            toolCallId: `c${step}`,
            duration: 40 + step * 23,
            ...(step === 7 ? { error: 'ENOENT: no such file' } : { result: 'ok' }),
          },
        },
        {
          type: 'metric',
          payload: { name: 'latencyMs', value: 80 + ((step * 37) % 50), unit: 'ms' },
        },
      );
    }
    const run = await createRun({
      id: 'showcase',
      title: 'Refactor the billing module',
      metadata: { costUsd: 0.0421, tags: ['nightly'], totalSteps: 12, model: 'sonnet' },
    });
    // Spread over a few seconds after the start, as a real run would be, so the times read well.
    const start = Date.parse(run.startedAt);
    events.forEach((event, i) => (event.ts = new Date(start + 40 + i * 97).toISOString()));
    await post('showcase', events);
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, context } = await openPage(server.url, '/', { colorScheme });
      await page.locator('.run-row[data-run-id="showcase"]').waitFor({ timeout: WAIT_MS });
      const list = new URL(`dashboard-list-${colorScheme}.png`, ARTEFACTS);
      await page.screenshot({ path: list.pathname });
      await page.locator('.run-row[data-run-id="showcase"]').click();
      await page.locator('.event-row:not(.loading)[data-seq="49"]').waitFor({ timeout: WAIT_MS });
      await page.locator('.event-row:not(.loading)[data-seq="27"]').click();
      const runShot = new URL(`dashboard-run-${colorScheme}.png`, ARTEFACTS);
      await page.screenshot({ path: runShot.pathname });
      await page.getByRole('tab', { name: 'Trace' }).click();
      await page.locator('.trace-row').nth(11).waitFor({ timeout: WAIT_MS });
      assert.equal(await page.locator('.trace-row.st-error').count(), 1);
      const tools = new URL(`dashboard-trace-${colorScheme}.png`, ARTEFACTS);
      await page.screenshot({ path: tools.pathname });
      await page.getByRole('tab', { name: 'Metrics' }).click();
      await page.locator('.metric-card').nth(1).waitFor({ timeout: WAIT_MS });
      const metrics = new URL(`dashboard-metrics-${colorScheme}.png`, ARTEFACTS);
      await page.screenshot({ path: metrics.pathname });
      const unnamed = await page.$$eval(
        'button, input, select, a, [role="tab"], [tabindex]',
        (nodes) =>
          nodes
            .filter((node) => !(node.getAttribute('aria-label') || node.textContent?.trim()))
            .map((node) => node.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(unnamed, [], 'every control has an accessible name');
      for (const file of [list, runShot, tools, metrics]) assert.ok(statSync(file).size > 10_000);
      await context.close();
    }
  });

  await t.test('no script error and no dialog on any page', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(dialogs, []);
  });
});
