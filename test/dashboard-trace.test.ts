// The Trace tab in a real browser against the real server: the tree, the time axis, live growth,
// zoom, details, the summary strip, 20,000 spans, hostile names, and cost in the list and header.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { browserFor, browserSuite } from './helpers/browser.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const WAIT_MS = 20_000;
/** Opening 20,000 spans on a machine busy with other suites can take a while; never a timing assertion. */
const HUGE_WAIT_MS = 90_000;
const ARTEFACTS = new URL('../test-results/', import.meta.url);
const HOSTILE = '<img src=x onerror=alert(1)>';

/** The drawn rows top to bottom: [spanId, aria-level, text of its label and time]. */
function rows(page: Page): Promise<Array<[string, number, string]>> {
  return page.$$eval('.trace-row', (nodes) =>
    nodes
      .map((node) => ({
        top: node.getBoundingClientRect().top,
        row: [
          (node as HTMLElement).dataset.spanId!,
          Number(node.getAttribute('aria-level')),
          node.textContent!,
        ] as [string, number, string],
      }))
      .sort((a, b) => a.top - b.top)
      .map(({ row }) => row),
  );
}

test('dashboard: Trace tab', { timeout: 240_000, ...browserSuite }, async (t) => {
  mkdirSync(ARTEFACTS, { recursive: true });
  const browser = await browserFor(t);
  const server = await serverFor(t);
  const pageErrors: string[] = [];

  async function post(runId: string, events: unknown[]) {
    for (let i = 0; i < events.length; i += 1000) {
      const res = await api(server.url, `/api/runs/${runId}/events`, {
        body: events.slice(i, i + 1000),
      });
      assert.equal(res.status, 201, res.text);
    }
  }

  async function openTrace(runId: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => context.close());
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => pageErrors.push(`dialog: ${dialog.message()}`));
    await page.goto(`${server.url}/#/runs/${runId}`);
    await page.getByRole('tab', { name: 'Trace' }).click();
    return page;
  }

  const created = await api(server.url, '/api/runs', {
    body: { id: 'nested', title: 'Nested run' },
  });
  // Times from the run's start, so the run's window is its spans' (0 to 30 s).
  const start = Date.parse(created.body.startedAt);
  const iso = (offset: number) => new Date(start + offset).toISOString();
  await post('nested', [
    {
      type: 'span.started',
      ts: iso(0),
      payload: { spanId: 'agent', name: 'agent', kind: 'agent' },
    },
    {
      type: 'span.started',
      ts: iso(1000),
      payload: { spanId: 'step-1', parentSpanId: 'agent', name: 'step 1', kind: 'task' },
    },
    {
      type: 'tool.called',
      ts: iso(2000),
      payload: {
        toolName: 'Bash',
        toolCallId: 'b1',
        parentSpanId: 'step-1',
        args: { command: 'npm ci' },
      },
    },
    {
      type: 'tool.result',
      ts: iso(9000),
      payload: { toolName: 'Bash', toolCallId: 'b1', result: 'ok' },
    },
    {
      type: 'tool.called',
      ts: iso(10_000),
      payload: {
        toolName: 'Bash',
        toolCallId: 'b2',
        parentSpanId: 'step-1',
        args: { command: 'npm test' },
      },
    },
    {
      type: 'tool.result',
      ts: iso(12_000),
      payload: { toolName: 'Bash', toolCallId: 'b2', error: 'exit 1' },
    },
    { type: 'span.ended', ts: iso(13_000), payload: { spanId: 'step-1' } },
    {
      type: 'span.started',
      ts: iso(14_000),
      payload: { spanId: 'llm-1', parentSpanId: 'agent', name: 'sonnet', kind: 'llm' },
    },
    { type: 'span.ended', ts: iso(20_000), payload: { spanId: 'llm-1' } },
    {
      type: 'usage.report',
      payload: {
        spanId: 'llm-1',
        inputTokens: 1200,
        outputTokens: 300,
        costUsd: 0.0123,
        model: 'sonnet',
      },
    },
    { type: 'span.ended', ts: iso(30_000), payload: { spanId: 'agent' } },
    { type: 'run.completed' },
  ]);

  await t.test(
    'draws the tree on a time axis: nesting, arguments, kind, duration, self time, failures',
    async () => {
      const page = await openTrace('nested');
      await page.locator('.trace-row[data-span-id="llm-1"]').waitFor({ timeout: WAIT_MS });
      const drawn = await rows(page);
      assert.deepEqual(
        drawn.map(([id, level]) => [id, level]),
        [
          ['agent', 1],
          ['step-1', 2],
          ['b1', 3],
          ['b2', 3],
          ['llm-1', 2],
        ],
      );
      const text = Object.fromEntries(drawn.map(([id, , content]) => [id, content]));
      assert.match(text.b1!, /toolBash\s*npm ci7\.00 s/);
      assert.match(text.b2!, /toolBash\s*npm test✖ 2\.00 s/, 'two Bash calls read differently');
      assert.match(text['step-1']!, /12\.0 s · self 3\.00 s/);
      assert.match(text.agent!, /30\.0 s · self 12\.0 s/);
      assert.equal(await page.locator('.trace-row.st-error').count(), 1);
      const ticks = await page.locator('.trace-tick').allTextContents();
      assert.ok(ticks.length >= 3, `labelled ticks: ${ticks.join(' ')}`);
      assert.equal(ticks[0], '+0');
      assert.ok(ticks.includes('+10s') && ticks.includes('+20s'), ticks.join(' '));
      // Bars sit where their times are: b2 starts a third of the way along the run.
      const axis = (await page.locator('.trace-axis').boundingBox())!;
      const bar = (await page.locator('.trace-row[data-span-id="b2"] .trace-bar').boundingBox())!;
      assert.ok(Math.abs((bar.x - axis.x) / axis.width - 10 / 30) < 0.02);
      await page.screenshot({ path: new URL('dashboard-trace-tree.png', ARTEFACTS).pathname });
    },
  );

  await t.test(
    'the summary strip: duration, spans, tool calls (failed), tokens, cost, top self time',
    async () => {
      const page = await openTrace('nested');
      const strip = page.locator('.trace-strip');
      await strip.getByText('most self time').waitFor({ timeout: WAIT_MS });
      const text = (await strip.textContent())!;
      assert.match(text, /spans5/);
      assert.match(text, /tool calls2 \(1 failed\)/);
      assert.match(text, /tokens1,500/);
      assert.match(text, /cost\$0\.0123/);
      const hot = await strip.locator('.trace-hot-name').allTextContents();
      assert.deepEqual(hot, ['agent', 'Bash', 'sonnet']);
    },
  );

  await t.test('a click shows attributes, usage and the events between start and end', async () => {
    const page = await openTrace('nested');
    await page.locator('.trace-row[data-span-id="llm-1"]').click({ timeout: WAIT_MS });
    const detail = page.locator('.trace-detail');
    await detail.locator('.trace-event').first().waitFor({ timeout: WAIT_MS });
    const text = (await detail.textContent())!;
    assert.match(text, /tokens1,500 \(1,200 in, 300 out\)/);
    assert.match(text, /cost\$0\.0123/);
    assert.match(text, /modelsonnet/);
    assert.deepEqual(await detail.locator('.trace-event-type').allTextContents(), [
      'span.started',
      'span.ended',
    ]);
    await page.locator('.trace-row[data-span-id="b1"]').click();
    await waitFor('attributes', async () =>
      /"command": "npm ci"/.test((await detail.textContent())!),
    );
    await detail.locator('.trace-event').first().click();
    await page.locator('.inspector:not([hidden])').waitFor({ timeout: WAIT_MS });
  });

  await t.test('a subtree collapses and opens again', async () => {
    const page = await openTrace('nested');
    await page.locator('.trace-row[data-span-id="b1"]').waitFor({ timeout: WAIT_MS });
    await page.locator('.trace-row[data-span-id="step-1"] .trace-toggle').click();
    await waitFor('step 1 collapsed', async () => (await rows(page)).length === 3);
    assert.equal(
      await page.locator('.trace-row[data-span-id="step-1"]').getAttribute('aria-expanded'),
      'false',
    );
    await page.locator('.trace-row[data-span-id="step-1"] .trace-toggle').click();
    await waitFor('step 1 open', async () => (await rows(page)).length === 5);
  });

  await t.test(
    'dragging across the axis zooms to that time range; "Whole run" zooms back',
    async () => {
      const page = await openTrace('nested');
      await page.locator('.trace-row[data-span-id="b2"]').waitFor({ timeout: WAIT_MS });
      const axis = (await page.locator('.trace-axis').boundingBox())!;
      const y = axis.y + axis.height / 2;
      // From +10 s to +12 s: the 2-second failed call fills the view.
      await page.mouse.move(axis.x + (axis.width * 10) / 30, y);
      await page.mouse.down();
      await page.mouse.move(axis.x + (axis.width * 11) / 30, y, { steps: 4 });
      await page.mouse.move(axis.x + (axis.width * 12) / 30, y, { steps: 4 });
      await page.mouse.up();
      await waitFor('zoomed', async () =>
        /shown/.test((await page.locator('.trace-zoom-label').textContent())!),
      );
      const bar = (await page.locator('.trace-row[data-span-id="b2"] .trace-bar').boundingBox())!;
      assert.ok(
        bar.width > axis.width * 0.9,
        `the call fills the axis: ${bar.width} of ${axis.width}`,
      );
      await page.getByRole('button', { name: 'Zoom out to the whole run' }).click();
      await waitFor(
        'whole run',
        async () => (await page.locator('.trace-zoom-label').textContent()) === '',
      );
    },
  );

  await t.test(
    'running spans grow in real time and keep their place as children arrive',
    async () => {
      await api(server.url, '/api/runs', { body: { id: 'live', title: 'Live run' } });
      await post('live', [
        { type: 'span.started', payload: { spanId: 'root', name: 'root', kind: 'agent' } },
        {
          type: 'span.started',
          payload: { spanId: 'a', parentSpanId: 'root', name: 'first', kind: 'task' },
        },
        { type: 'span.started', payload: { spanId: 'z', name: 'later root', kind: 'task' } },
      ]);
      const page = await openTrace('live');
      await page.locator('.trace-row[data-span-id="z"]').waitFor({ timeout: WAIT_MS });
      const rootTime = page.locator('.trace-row[data-span-id="root"] .trace-time');
      const first = (await rootTime.textContent())!;
      assert.match(first, /…/, 'running');
      await waitFor('the running span grows', async () => (await rootTime.textContent()) !== first);
      await post('live', [
        {
          type: 'tool.called',
          payload: {
            toolName: 'Read',
            toolCallId: 'r1',
            parentSpanId: 'a',
            args: { file_path: 'x.ts' },
          },
        },
        {
          type: 'span.started',
          payload: { spanId: 'b', parentSpanId: 'root', name: 'second', kind: 'task' },
        },
      ]);
      await page.locator('.trace-row[data-span-id="b"]').waitFor({ timeout: WAIT_MS });
      assert.deepEqual(
        (await rows(page)).map(([id, level]) => [id, level]),
        [
          ['root', 1],
          ['a', 2],
          ['r1', 3],
          ['b', 2],
          ['z', 1],
        ],
      );
      await post('live', [
        { type: 'tool.result', payload: { toolName: 'Read', toolCallId: 'r1', result: 'ok' } },
      ]);
      await waitFor(
        'the call ended',
        async () =>
          !/…/.test(
            (await page.locator('.trace-row[data-span-id="r1"] .trace-time').textContent())!,
          ),
      );
    },
  );

  await t.test('20,000 spans: rows are virtualised and every span is reachable', async () => {
    await api(server.url, '/api/runs', { body: { id: 'huge', title: 'Huge trace' } });
    const events: unknown[] = [
      { type: 'span.started', ts: iso(0), payload: { spanId: 's0', name: 'root' } },
    ];
    for (let i = 1; i < 20_000; i++) {
      const parent = i < 200 ? 's0' : `s${i % 200 || 1}`;
      events.push({
        type: 'tool.called',
        ts: iso(i),
        payload: {
          toolName: `tool-${i % 7}`,
          toolCallId: `s${i}`,
          parentSpanId: parent,
          args: { n: i },
        },
      });
    }
    await post('huge', events);
    const page = await openTrace('huge');
    await page.locator('.trace-row[data-span-id="s0"]').waitFor({ timeout: HUGE_WAIT_MS });
    await page
      .locator('.trace-strip', { hasText: 'spans20,000' })
      .waitFor({ timeout: HUGE_WAIT_MS });
    assert.ok((await page.locator('.trace-row').count()) < 200, 'only the rows in view exist');
    assert.match((await page.locator('.trace-strip').textContent())!, /spans20,000/);
    await page.locator('.trace-rows').evaluate((node) => (node.scrollTop = node.scrollHeight));
    await waitFor('the last span drawn at the end', async () =>
      (await rows(page)).some(([id]) => id === 's19999'),
    );
  });

  await t.test(
    'hostile names are text; cost shows in the runs list and header, unknown cost nowhere',
    async () => {
      await api(server.url, '/api/runs', { body: { id: 'hostile', title: HOSTILE } });
      await post('hostile', [
        { type: 'span.started', payload: { spanId: HOSTILE, name: HOSTILE, kind: HOSTILE } },
        {
          type: 'tool.called',
          payload: { toolName: HOSTILE, toolCallId: 't1', args: { command: HOSTILE } },
        },
      ]);
      const page = await openTrace('hostile');
      await page.locator('.trace-row[data-span-id="t1"]').waitFor({ timeout: WAIT_MS });
      assert.equal(await page.locator('.trace-view img').count(), 0);
      assert.match(
        (await page.locator('.trace-row[data-span-id="t1"]').textContent())!,
        /<img src=x/,
      );
      // No usage report: no cost anywhere, not "$0".
      assert.equal(
        await page.locator('.run-row[data-run-id="hostile"] .run-row-cost').textContent(),
        '',
      );
      assert.equal(await page.locator('.run-header .fact-cost').count(), 0);
      await page.goto(`${server.url}/#/runs/nested`);
      await page.locator('.run-header .fact-cost').waitFor({ timeout: WAIT_MS });
      assert.equal(await page.locator('.run-header .fact-cost dd').textContent(), '$0.0123');
      assert.equal(
        await page.locator('.run-row[data-run-id="nested"] .run-row-cost').textContent(),
        '$0.0123',
      );
    },
  );

  await t.test(
    '"Compare with…" sets the run beside another: metrics, tools, aligned calls',
    async () => {
      await api(server.url, '/api/runs', { body: { id: 'baseline', title: 'Baseline run' } });
      await post('baseline', [
        {
          type: 'tool.called',
          payload: { toolName: 'Bash', toolCallId: 'x1', args: { command: 'npm ci' } },
        },
        { type: 'tool.result', payload: { toolName: 'Bash', toolCallId: 'x1', result: 'ok' } },
        { type: 'usage.report', payload: { inputTokens: 100, outputTokens: 20, costUsd: 0.01 } },
        { type: 'run.completed' },
      ]);
      const page = await openTrace('nested');
      await page.getByRole('button', { name: 'Compare this run with another run' }).click();
      const dialog = page.locator('.compare-dialog');
      await dialog
        .locator('option[value="baseline"]')
        .waitFor({ state: 'attached', timeout: WAIT_MS });
      await dialog.getByRole('combobox', { name: 'Run to compare with' }).selectOption('baseline');
      await dialog.locator('.compare-sequence').waitFor({ timeout: WAIT_MS });
      const metrics = (await dialog.getByRole('table', { name: 'Metrics' }).textContent())!;
      assert.match(metrics, /cost\$0\.0100\$0\.0123\+\$0\.0023 \(\+23\.0%\)/);
      assert.match(metrics, /tool calls12\+1 \(\+100\.0%\)/);
      const calls = await dialog.locator('.compare-sequence tr').allTextContents();
      assert.deepEqual(calls.slice(1), ['Bash npm ciBash npm ci', '+Bash npm test ✖']);
      await page.screenshot({ path: new URL('dashboard-compare.png', ARTEFACTS).pathname });
    },
  );

  await t.test('no script error and no dialog on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
