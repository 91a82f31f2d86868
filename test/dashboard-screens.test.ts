// The dashboard on any screen (issue 14, sections 5 and 6): a phone, a small laptop and a desktop,
// each with screenshots a person can look at in test-results/; light-mode contrast (WCAG AA, 4.5:1)
// computed from the styles the browser applied; and the empty state of a fresh server.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import type { EventInput, Run } from '../shared/types.ts';
import { browserFor, browserSuite } from './helpers/browser.ts';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';

const ARTEFACTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const SCREENS = [
  { width: 390, height: 844, phone: true },
  { width: 1024, height: 768, phone: false },
  { width: 1400, height: 900, phone: false },
] as const;
/** WCAG 2 AA for normal-size text. */
const MIN_CONTRAST = 4.5;
const LONG_ERROR =
  'The deployment step failed because the staging database refused the connection after three retries; check the credentials';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Every visible text whose contrast with what is behind it is below MIN_CONTRAST. */
async function lowContrastTexts(page: Page): Promise<string[]> {
  // tsx keeps the names of the functions declared below by wrapping them in a __name helper that
  // exists only in Node; the page needs one that does nothing.
  await page.evaluate('globalThis.__name ??= (fn) => fn');
  return page.evaluate((min) => {
    type Rgba = [number, number, number, number];
    // rgb(r g b / a) with 0–255 channels, or color(srgb r g b / a) with 0–1 ones (color-mix).
    const parse = (css: string): Rgba => {
      const m = css.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0];
      const scale = css.startsWith('color(') ? 255 : 1;
      return [m[0]! * scale, m[1]! * scale, m[2]! * scale, m[3] ?? 1];
    };
    const over = (top: Rgba, bottom: Rgba): Rgba => {
      const a = top[3];
      return [0, 1, 2].map((i) => top[i]! * a + bottom[i]! * (1 - a)).concat(1) as Rgba;
    };
    const luminance = ([r, g, b]: Rgba) => {
      const lin = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    /** The colour behind an element: its own and its ancestors' backgrounds, composited. */
    const backdrop = (node: Element | null): Rgba => {
      const layers: Rgba[] = [];
      for (let at = node; at; at = at.parentElement) {
        const bg = parse(getComputedStyle(at).backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 1) break;
      }
      let colour: Rgba = [255, 255, 255, 1];
      for (const layer of layers.reverse()) colour = over(layer, colour);
      return colour;
    };
    const opacityOf = (node: Element | null): number => {
      let value = 1;
      for (let at = node; at; at = at.parentElement) value *= Number(getComputedStyle(at).opacity);
      return value;
    };
    const failures: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set<Element>();
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const owner = text.parentElement;
      if (!owner || seen.has(owner) || !text.textContent?.trim()) continue;
      seen.add(owner);
      if (owner.closest('option, [disabled], [hidden], [aria-hidden="true"]')) continue;
      const box = owner.getBoundingClientRect();
      const style = getComputedStyle(owner);
      if (box.width === 0 || box.height === 0 || style.visibility !== 'visible') continue;
      const bg = backdrop(owner);
      const fg = over(parse(style.color), bg);
      const seenColour = over([...fg.slice(0, 3), opacityOf(owner)] as Rgba, bg);
      const [l1, l2] = [luminance(seenColour), luminance(bg)].sort((a, b) => b - a);
      const ratio = (l1! + 0.05) / (l2! + 0.05);
      if (ratio < min) {
        failures.push(
          `${ratio.toFixed(2)} "${text.textContent.trim().slice(0, 30)}" (${owner.className || owner.tagName}) ${style.color} on rgb(${bg.slice(0, 3).join(',')})`,
        );
      }
    }
    return failures;
  }, MIN_CONTRAST);
}

test('dashboard screens', { timeout: 240_000, ...browserSuite }, async (t) => {
  mkdirSync(ARTEFACTS, { recursive: true });
  const browser = await browserFor(t);
  const server = await serverFor(t);
  const pageErrors: string[] = [];
  // Each subtest starts with no page open: the pages of the one before (with their live streams)
  // are closed first, and whatever is left when the suite ends.
  const contexts: BrowserContext[] = [];
  const closePages = () => Promise.all(contexts.splice(0).map((context) => context.close()));
  t.beforeEach(closePages);
  t.after(closePages);

  async function openPage(
    path: string,
    width: number,
    height: number,
    permissions: string[] = [],
  ): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width, height },
      colorScheme: 'light',
      permissions,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(server.url + path);
    return page;
  }

  async function createRun(body: object): Promise<Run> {
    const res = await api<Run>(server.url, '/api/runs', { body: { status: 'running', ...body } });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  async function post(runId: string, events: EventInput[]): Promise<void> {
    const res = await api(server.url, `/api/runs/${runId}/events`, { body: events });
    assert.equal(res.status, 201, res.text.slice(0, 300));
  }

  await t.test('with no runs, the list says how to start one, in a copyable command', async () => {
    const page = await openPage('/#/', 1400, 900, ['clipboard-read', 'clipboard-write']);
    const command = page.locator('.runs-empty code');
    await command.waitFor();
    assert.equal(await command.innerText(), 'npx agent-ops --steps 20 --interval 200ms');
    assert.match(await command.evaluate((node) => getComputedStyle(node).fontFamily), /mono/i);
    await page.getByRole('button', { name: 'Copy the command' }).click();
    await page.locator('.copy-command', { hasText: 'Copied' }).waitFor();
    assert.equal(
      await page.evaluate(() => navigator.clipboard.readText()),
      'npx agent-ops --steps 20 --interval 200ms',
    );
  });

  await createRun({
    id: 'screen-live',
    title: 'Refactor the authentication module and update every caller',
    metadata: { tags: ['nightly', 'agent'], totalSteps: 40, model: 'large' },
  });
  await post('screen-live', [
    { type: 'run.started', payload: { message: 'Agent run initialized' } },
    ...Array.from({ length: 30 }, (_, i) => ({
      type: 'task.progress',
      payload: { step: i + 1, total: 40, message: `Processing step ${i + 1}` },
    })),
    { type: 'metric', level: 'debug' as const, payload: { name: 'latencyMs', value: 120 } },
    { type: 'tool.called', payload: { toolName: 'search_code', toolCallId: 'c9' } },
  ]);
  await createRun({ id: 'screen-failed', title: 'Deploy to staging' });
  await post('screen-failed', [
    { type: 'agent.stderr', payload: { line: 1, text: 'connection refused' } },
    { type: 'run.error', level: 'error', payload: { message: LONG_ERROR } },
  ]);

  for (const { width, height, phone } of SCREENS) {
    await t.test(`${width}×${height}: the list, the run, and back`, async () => {
      const page = await openPage('/#/', width, height);
      const row = page.locator('.run-row[data-run-id="screen-live"]');
      await row.locator('.activity-step', { hasText: 'Step 30 / 40' }).waitFor();
      await page.screenshot({ path: `${ARTEFACTS}screens-${width}x${height}-list.png` });
      assert.equal(await page.locator('.main').isVisible(), !phone, 'the run pane beside the list');
      await row.click();
      await page.locator('.run-header .activity-step', { hasText: 'Step 30 / 40' }).waitFor();
      await page.locator('.event-row:not(.loading)').first().waitFor();
      assert.equal(await page.locator('.sidebar').isVisible(), !phone, 'the list beside the run');

      const fits = await page.evaluate(
        () => document.documentElement.scrollWidth <= window.innerWidth,
      );
      assert.ok(fits, 'nothing makes the page scroll sideways');
      // Status, title and controls: each whole, inside the window, none over another.
      const parts = ['.run-header .status-badge', '.run-title', '.run-controls', '.run-actions'];
      const boxes: Box[] = [];
      for (const selector of parts) {
        const box = (await page.locator(selector).boundingBox())!;
        assert.ok(box.x >= 0 && box.x + box.width <= width + 0.5, `${selector} inside the window`);
        for (const other of boxes) assert.ok(!overlaps(box, other), `${selector} overlaps nothing`);
        boxes.push(box);
      }
      const titleCut = await page
        .locator('.run-title')
        .evaluate((node) => node.scrollWidth > node.clientWidth + 1);
      if (phone) assert.equal(titleCut, false, 'the title wraps instead of being cut');
      // The timeline row keeps time, type and summary in view.
      const last = page.locator('.event-row:not(.loading)').last();
      for (const part of ['.time', '.type', '.summary']) {
        const box = (await last.locator(part).boundingBox())!;
        assert.ok(box.width > 20 && box.x + box.width <= width + 0.5, `${part} shown`);
      }
      const toolbar = page.locator('.panel-events .timeline-toolbar');
      const chipTops = await toolbar
        .locator('.chip')
        .evaluateAll((chips) => chips.map((chip) => Math.round(chip.getBoundingClientRect().top)));
      if (phone) {
        assert.equal(new Set(chipTops).size, 1, 'chips stay on one line');
        assert.equal(await toolbar.evaluate((node) => getComputedStyle(node).overflowX), 'auto');
      }
      await page.screenshot({ path: `${ARTEFACTS}screens-${width}x${height}-run.png` });

      if (phone) {
        await page.getByRole('link', { name: 'Back to the runs list' }).click();
        await row.waitFor();
        assert.equal(await page.locator('.main').isVisible(), false);
      }
    });
  }

  await t.test('an error banner wraps by words on a phone', async () => {
    const page = await openPage('/#/runs/screen-failed', 390, 844);
    const banner = page.locator('.run-error-text');
    await banner.waitFor();
    const lines = await banner.evaluate((node) => {
      const range = document.createRange();
      range.selectNodeContents(node);
      return [...range.getClientRects()].length;
    });
    assert.ok(lines > 1, 'the message takes several lines');
    const words = await banner.evaluate((node) => {
      // Each word's box is on one line when lines break only between words.
      const text = node.firstChild!;
      const broken: string[] = [];
      let at = 0;
      for (const word of node.textContent!.split(' ')) {
        const range = document.createRange();
        range.setStart(text, at);
        range.setEnd(text, at + word.length);
        if (range.getClientRects().length > 1) broken.push(word);
        at += word.length + 1;
      }
      return broken;
    });
    assert.deepEqual(words, []);
    await page.locator('.run-error-stderr', { hasText: 'connection refused' }).waitFor();
  });

  await t.test('light-mode text contrast meets WCAG AA everywhere', async () => {
    const page = await openPage('/#/runs/screen-live', 1400, 900);
    await page.locator('.event-row:not(.loading)').first().waitFor();
    await page.locator('.event-row:not(.loading)').last().click();
    await page.locator('.inspector .json-tree').waitFor();
    await page.locator('.run-row[data-run-id="screen-failed"]').waitFor();
    assert.deepEqual(await lowContrastTexts(page), [], 'the run view and the list');
    await page.locator('.chip.lvl-debug').click();
    await page.locator('.event-row.selected, .event-row:not(.loading)').first().waitFor();
    await page.getByRole('tab', { name: /Tool calls/ }).click();
    await page.locator('.waterfall-row').first().waitFor();
    assert.deepEqual(await lowContrastTexts(page), [], 'pressed chips and the tool calls');
    const failed = await openPage('/#/runs/screen-failed', 1400, 900);
    await failed.locator('.run-error-stderr').waitFor();
    assert.deepEqual(await lowContrastTexts(failed), [], 'a failed run');
  });

  await t.test('no script error on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
