// The live view a person wants (issue 14, sections 1–4 and 6) in a real browser against the real
// server: what a run is doing now, live runs first and told apart, the producer's state, the
// Console tab, a readable inspector, and the small things (Freeze view, Esc, fixed widths).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import type { EventInput, Run } from '../shared/types.ts';
import { browserFor, browserSuite } from './helpers/browser.ts';
import { runCli } from './helpers/cli.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

test('dashboard live view', { timeout: 240_000, ...browserSuite }, async (t) => {
  const browser = await browserFor(t);
  const server = await serverFor(t);
  const pageErrors: string[] = [];
  // Each subtest starts with no page open: the pages of the one before (with their live streams)
  // are closed first, and whatever is left when the suite ends.
  const contexts: BrowserContext[] = [];
  const closePages = () => Promise.all(contexts.splice(0).map((context) => context.close()));
  t.beforeEach(closePages);
  t.after(closePages);

  async function openPage(path: string, options: BrowserContextOptions = {}): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      colorScheme: 'light',
      ...options,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(server.url + path);
    return page;
  }

  async function createRun(body: {
    id: string;
    title?: string;
    status?: string;
    metadata?: object;
  }): Promise<Run> {
    const res = await api<Run>(server.url, '/api/runs', { body: { status: 'running', ...body } });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  async function post(runId: string, events: EventInput[]): Promise<void> {
    const res = await api(server.url, `/api/runs/${runId}/events`, { body: events });
    assert.equal(res.status, 201, res.text.slice(0, 300));
  }

  const text = (page: Page, selector: string) => page.locator(selector).first().innerText();

  await t.test(
    'the header and the runs-list row say what a live run is doing now, then how it ended',
    async () => {
      await createRun({ id: 'now-run', title: 'Doing things' });
      await post('now-run', [
        { type: 'task.progress', payload: { step: 3, total: 10, message: 'Processing step 3' } },
        { type: 'tool.called', payload: { toolName: 'search_web', toolCallId: 'c1' } },
      ]);
      const page = await openPage('/#/runs/now-run');
      const header = '.run-header .run-activity';
      const row = '.run-row[data-run-id="now-run"] .row-activity';
      for (const where of [header, row]) {
        await page.locator(`${where} .activity-step`, { hasText: 'Step 3 / 10' }).waitFor();
        await page.locator(`${where} .activity-running`, { hasText: 'search_web ·' }).waitFor();
        assert.equal(
          await page.locator(`${where} [role="progressbar"]`).getAttribute('aria-valuenow'),
          '30',
        );
        assert.match(await text(page, `${where} .activity-text`), /search_web/);
      }
      // The elapsed time and the open call's duration tick on their own.
      const elapsed = await text(page, `${header} .activity-elapsed`);
      await waitFor('the elapsed time to tick', async () => {
        return (await text(page, `${header} .activity-elapsed`)) !== elapsed;
      });
      await post('now-run', [
        {
          type: 'tool.result',
          payload: { toolName: 'search_web', toolCallId: 'c1', result: 'found 3 pages' },
        },
        { type: 'task.progress', payload: { step: 4, total: 10, message: 'Reading page 1' } },
      ]);
      await page.locator(`${header} .activity-text`, { hasText: 'Reading page 1' }).waitFor();
      assert.equal(await page.locator(`${header} .activity-running`).isVisible(), false);
      await post('now-run', [{ type: 'run.completed', payload: { message: 'done' } }]);
      for (const where of [header, row]) {
        await page.locator(`${where} .activity-text`, { hasText: 'Completed' }).waitFor();
      }
      // Once ended the start time is absolute.
      assert.match(await text(page, '.fact-started dd'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    },
  );

  await t.test(
    'totalSteps in metadata gives the total when events carry only the step',
    async () => {
      await createRun({ id: 'meta-total', title: 'Meta total', metadata: { totalSteps: 8 } });
      await post('meta-total', [{ type: 'task.progress', payload: { step: 2 } }]);
      const page = await openPage('/#/runs/meta-total');
      await page.locator('.run-header .activity-step', { hasText: 'Step 2 / 8' }).waitFor();
    },
  );

  await t.test(
    'live runs come first with counts per status; badges are labelled and a running one moves',
    async () => {
      await createRun({ id: 'grp-done', title: 'Grouped' });
      await post('grp-done', [{ type: 'run.completed', payload: {} }]);
      await createRun({ id: 'grp-failed', title: 'Grouped' });
      await post('grp-failed', [{ type: 'run.error', payload: { message: 'boom' } }]);
      await createRun({ id: 'grp-paused', title: 'Grouped' });
      await post('grp-paused', [{ type: 'run.paused', payload: {} }]);
      // Started first, yet listed above the runs that finished after it.
      const page = await openPage('/#/');
      await page.locator('.run-row[data-run-id="grp-paused"]').waitFor();
      const statuses = await page.$$eval('.run-row', (rows) =>
        rows.map((row) => (row as HTMLElement).dataset.status),
      );
      const firstEnded = statuses.findIndex((s) => !['running', 'paused', 'queued'].includes(s!));
      assert.ok(firstEnded > 0, `some live runs first: ${statuses.join(',')}`);
      assert.ok(
        statuses.slice(firstEnded).every((s) => !['running', 'paused', 'queued'].includes(s!)),
        `every live run above every ended one: ${statuses.join(',')}`,
      );
      const counts = await text(page, '.runs-counts');
      assert.match(counts, /Running \d+ · Paused 1 · Completed \d+ · Failed \d+/);
      assert.equal(await text(page, '.run-row[data-run-id="grp-failed"] .status-badge'), 'Failed');
      const motion = await page.$eval(
        '.run-row[data-status="running"] .status-badge',
        (badge) => getComputedStyle(badge, '::before').animationName,
      );
      assert.equal(motion, 'pulse');
    },
  );

  await t.test('twenty runs with the same title are told apart', async () => {
    for (let i = 0; i < 20; i++) {
      await createRun({
        id: `same-title-${String(i).padStart(2, '0')}-${'x'.repeat(6)}${i}`,
        title: 'Same title',
        metadata: { tags: [`shard-${i}`] },
      });
    }
    const page = await openPage('/#/');
    await page.locator('.run-row[data-run-id^="same-title-19"]').waitFor();
    const rows = await page.$$eval(
      '.run-row[data-run-id^="same-title-"] .run-row-line.sub',
      (lines) => lines.map((line) => (line as HTMLElement).innerText),
    );
    assert.equal(rows.length, 20);
    assert.equal(new Set(rows).size, 20, 'every row reads differently');
    assert.ok(
      rows.every((row) => /\d\d:\d\d:\d\d/.test(row)),
      'each shows its start time',
    );
    assert.ok(
      rows.some((row) => row.includes('shard-7')),
      'tags are shown as chips',
    );
  });

  await t.test('a new run never moves the row under the pointer', async () => {
    const page = await openPage('/#/');
    const target = page.locator('.run-row[data-run-id="grp-done"]');
    await target.waitFor();
    await target.hover();
    const before = (await target.boundingBox())!;
    await createRun({ id: 'arrives-later', title: 'Arrives later' });
    await page.locator('.runs-pending', { hasText: '1 new run' }).waitFor();
    assert.deepEqual((await target.boundingBox())!.y, before.y);
    assert.equal(await page.locator('.run-row[data-run-id="arrives-later"]').count(), 0);
    await page.mouse.move(900, 400);
    await page.locator('.run-row[data-run-id="arrives-later"]').waitFor();
  });

  await t.test(
    'a disconnected producer is shown at once and counts up; a lost one says so',
    async () => {
      await createRun({ id: 'detached', title: 'Detached' });
      // A producer holds the run's control channel, as the runner and exec do, then goes away.
      const channel = new AbortController();
      t.after(() => channel.abort());
      const held = await fetch(`${server.url}/api/runs/detached/control`, {
        signal: channel.signal,
      });
      assert.equal(held.status, 200);
      const page = await openPage('/#/runs/detached');
      const producer = page.locator('.run-header .producer');
      await producer.filter({ hasText: /^producer attached$/ }).waitFor();
      channel.abort();
      await producer.filter({ hasText: /^producer disconnected \d+ s ago$/ }).waitFor();
      await page
        .locator('.run-row[data-run-id="detached"] .row-producer', {
          hasText: /^producer disconnected \d+ s ago$/,
        })
        .waitFor();
      const first = await producer.innerText();
      await waitFor('the age to count up', async () => (await producer.innerText()) !== first);

      await createRun({ id: 'lost', title: 'Lost' });
      await post('lost', [
        {
          type: 'run.error',
          level: 'error',
          payload: {
            message: 'producer lost: no event for 60 s',
            reason: 'producer-lost',
            by: 'server',
          },
        },
      ]);
      const lost = await openPage('/#/runs/lost');
      await lost.locator('.run-header .producer', { hasText: 'producer lost' }).waitFor();
      await lost
        .locator('.run-row[data-run-id="lost"] .row-producer', { hasText: 'producer lost' })
        .waitFor();
      const plain = await openPage('/#/runs/grp-paused');
      await plain.locator('.run-header .producer', { hasText: 'no producer connected' }).waitFor();
      assert.doesNotMatch(await text(plain, '.run-header'), /server applies controls/);
    },
  );

  await t.test(
    'Console: every line of a chatty command, numbered, stderr marked, colours rendered, searchable',
    async () => {
      const script =
        'printf "\\033[31mred alert\\033[0m plain\\n"; seq 1 1500; ' +
        'echo "first problem" >&2; echo "last problem" >&2; exit 3';
      const result = await runCli([
        'exec',
        '--server',
        server.url,
        '--id',
        'chatty',
        '--title',
        'Chatty',
        '--',
        'sh',
        '-c',
        script,
      ]);
      assert.equal(result.code, 3, result.stderr);
      const events = (await api(server.url, '/api/runs/chatty/events?limit=5000')).body as {
        payload: { merged?: number };
      }[];
      assert.ok(
        events.some((e) => (e.payload.merged ?? 0) > 1),
        'some lines were merged',
      );

      const page = await openPage('/#/runs/chatty');
      // The failed command's banner shows the end of stderr.
      await page.locator('.run-error-stderr', { hasText: 'last problem' }).waitFor();
      assert.match(await text(page, '.run-error-stderr'), /first problem\nlast problem/);
      // A merged event's timeline row says how many more lines it holds.
      await page
        .locator('.event-row .summary', { hasText: /\+[\d,]+ lines$/ })
        .first()
        .waitFor();

      await page.getByRole('tab', { name: 'Console' }).click();
      await page.locator('.console-count', { hasText: '1,503 lines' }).waitFor();
      const last = page.locator('.console-line.stderr').last();
      await last.waitFor();
      assert.equal(await last.locator('.console-text').innerText(), 'last problem');
      assert.equal(await last.getAttribute('data-line'), '2');

      await page.locator('.console-search').fill('1234');
      await page.locator('.console-count', { hasText: '1 of 1,503 lines' }).waitFor();
      const found = page.locator('.console-line', { hasText: '1234' });
      assert.equal(await found.locator('.console-text').innerText(), '1234');
      assert.equal(await found.getAttribute('data-line'), '1235', 'the number the process printed');

      await page.locator('.console-search').fill('red alert');
      await page.locator('.console-count', { hasText: '1 of 1,503 lines' }).waitFor();
      const red = page.locator('.console-line', { hasText: 'red alert' });
      assert.equal(await red.locator('.console-text').innerText(), 'red alert plain');
      assert.equal(await red.locator('.ansi-fg-1').innerText(), 'red alert');
      assert.doesNotMatch(await red.innerHTML(), /\x1b|\[31m/);
    },
  );

  await t.test('Console follows the end and says "N new ↓" when scrolled up', async () => {
    await createRun({ id: 'console-follow', title: 'Console follow' });
    const lines = (from: number, count: number, line = from): EventInput[] => [
      {
        type: 'agent.stdout',
        payload: {
          line,
          text: Array.from({ length: count }, (_, i) => `out ${from + i}`).join('\n'),
          merged: count,
        },
      },
    ];
    await post('console-follow', lines(1, 300));
    const page = await openPage('/#/runs/console-follow');
    await page.getByRole('tab', { name: 'Console' }).click();
    await page.locator('.console-line[data-line="300"]').waitFor();
    await page.locator('.console-lines').evaluate((node) => (node.scrollTop = 0));
    await page.locator('.console-line[data-line="1"]').waitFor();
    await post('console-follow', lines(301, 5));
    await page.locator('.console .new-events', { hasText: '5 new ↓' }).click();
    await page.locator('.console-line[data-line="305"]').waitFor();
  });

  await t.test('Console shows a line cut in pieces whole, under its one number', async () => {
    await createRun({ id: 'pieces', title: 'Pieces' });
    await post('pieces', [
      { type: 'agent.stdout', payload: { line: 1, text: 'first half, ', partial: true } },
      { type: 'agent.stderr', payload: { line: 1, text: 'an error meanwhile' } },
      { type: 'agent.stdout', payload: { line: 1, text: 'second half' } },
      { type: 'agent.stdout', payload: { line: 2, text: 'next line' } },
    ]);
    const page = await openPage('/#/runs/pieces');
    await page.getByRole('tab', { name: 'Console' }).click();
    await page.locator('.console-count', { hasText: '3 lines' }).waitFor();
    const joined = page.locator('.console-line[data-stream="stdout"][data-line="1"]');
    assert.equal(await joined.locator('.console-text').innerText(), 'first half, second half');
  });

  await t.test(
    'the inspector shows multi-line text, a JSON tree with copy per value, "show all", and the wall clock',
    async () => {
      await createRun({ id: 'inspect', title: 'Inspect' });
      const stack = 'Error: nope\n    at one (a.ts:1:1)\n    at two (b.ts:2:2)';
      await post('inspect', [
        {
          type: 'tool.result',
          payload: {
            toolName: 'read',
            stack,
            nested: { list: Array.from({ length: 150 }, (_, i) => i) },
            big: 'y'.repeat(5000),
          },
        },
      ]);
      const page = await openPage('/#/runs/inspect', {
        permissions: ['clipboard-read', 'clipboard-write'],
      });
      await page.locator('.event-row:not(.loading)[data-seq="1"]').click();
      assert.equal(await text(page, '.inspector-payload .json-text'), stack);
      assert.match(
        await text(page, '.inspector-fields .field-time'),
        /^\+0:\d\d\.\d{3} · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/,
      );
      await page.getByRole('button', { name: 'show all (5,000 characters)' }).click();
      await page.locator('.json-string', { hasText: 'y'.repeat(5000) }).waitFor();
      assert.equal(await page.locator('.json-node .json-node .json-leaf').count(), 100);
      await page.locator('.json-node summary', { hasText: 'list:' }).click();
      await page.getByRole('button', { name: 'show all 150' }).click();
      assert.equal(await page.locator('.json-node .json-node .json-leaf').count(), 150);
      await page.getByRole('button', { name: 'Copy payload.stack' }).click();
      await page.locator('.copy-status', { hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), stack);
      await page.locator('.json-node summary').first().click();
      assert.equal(await page.locator('.inspector-payload .json-text').isVisible(), false);
    },
  );

  await t.test(
    'Freeze view / Follow keep the toolbar width; the inspector does not move the list',
    async () => {
      await createRun({ id: 'widths', title: 'Widths' });
      await post(
        'widths',
        Array.from({ length: 40 }, (_, i) => ({ type: 'tick', payload: { message: `t${i}` } })),
      );
      const page = await openPage('/#/runs/widths');
      await page.locator('.event-row:not(.loading)[data-seq="40"]').waitFor();
      const toolbar = page.locator('.panel-events .timeline-toolbar');
      const freeze = page.getByRole('button', { name: 'Freeze the view' });
      const before = { bar: (await toolbar.boundingBox())!, button: (await freeze.boundingBox())! };
      assert.equal(await freeze.innerText(), 'Freeze view');
      await freeze.click();
      const follow = page.getByRole('button', { name: 'Follow the live events again' });
      await post('widths', [{ type: 'tick', payload: { message: 'held' } }]);
      await page.locator('.new-events', { hasText: '1 held · Follow ↓' }).waitFor();
      assert.deepEqual((await follow.boundingBox())!.width, before.button.width);
      assert.deepEqual((await toolbar.boundingBox())!.width, before.bar.width);
      await follow.click();
      await page.locator('.event-row:not(.loading)[data-seq="41"]').waitFor();

      const list = page.locator('.panel-events .event-list');
      const listBox = (await list.boundingBox())!;
      const row = page.locator('.event-row:not(.loading)[data-seq="30"]');
      const rowBox = (await row.boundingBox())!;
      await row.click();
      await page.locator('.inspector').waitFor();
      assert.deepEqual((await list.boundingBox())!, listBox);
      assert.deepEqual((await row.boundingBox())!, rowBox);
    },
  );

  await t.test(
    'Esc closes the innermost thing only: search, then inspector, then run',
    async () => {
      const page = await openPage('/#/runs/widths');
      await page.locator('.event-row:not(.loading)[data-seq="40"]').click();
      await page.locator('.inspector').waitFor();
      await page.keyboard.press('/');
      await page.keyboard.type('t1');
      await page.keyboard.press('Escape');
      assert.notEqual(
        await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
        'Search events in this run',
      );
      assert.equal(await page.locator('.inspector').isVisible(), true, 'the inspector stays');
      assert.match(page.url(), /#\/runs\/widths$/);
      await page.keyboard.press('Escape');
      await page.locator('.inspector').waitFor({ state: 'hidden' });
      assert.match(page.url(), /#\/runs\/widths$/, 'the run stays');
      await page.keyboard.press('Escape');
      await page.waitForURL((url) => url.hash === '#/');
    },
  );

  await t.test('span events read as what started and how it ended', async () => {
    await createRun({ id: 'spans', title: 'Spans' });
    await post('spans', [
      { type: 'span.started', payload: { spanId: 's1', name: 'plan', kind: 'llm' } },
      { type: 'span.ended', payload: { spanId: 's1', status: 'error', error: 'rate limited' } },
    ]);
    const page = await openPage('/#/runs/spans');
    const summary = (seq: number) =>
      text(page, `.event-row:not(.loading)[data-seq="${seq}"] .summary`);
    await page.locator('.event-row:not(.loading)[data-seq="2"]').waitFor();
    assert.equal(await summary(1), 'plan (llm) · s1');
    assert.equal(await summary(2), 's1 ended error: rate limited');
  });

  await t.test('a finished run without tool calls says so', async () => {
    const page = await openPage('/#/runs/grp-done');
    await page.getByRole('tab', { name: /Trace/ }).click();
    await page.getByText('This run made no tool calls.').waitFor();
  });

  await t.test('no script error on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
