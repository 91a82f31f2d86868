// An agent instrumented with OpenTelemetry appears live in the dashboard: its spans, sent one by one
// by the real SDK exporter as they end, show up in a browser that already has the page open, as a
// run titled by the root span whose tool calls are drawn with the failed one marked.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserFor, browserSuite } from './helpers/browser.ts';
import { exportSpans, makeAgentTrace } from './helpers/otel-agent-trace.ts';
import { serverFor } from './helpers/server.ts';

const WAIT_MS = 20_000;

test('an OTLP trace in the dashboard', { timeout: 120_000, ...browserSuite }, async (t) => {
  const browser = await browserFor(t);
  const server = await serverFor(t);
  const agent = makeAgentTrace();
  const runId = `otel-${agent.traceId}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${server.url}/`);

  await t.test(
    'the run appears while its spans arrive, and is titled once the root comes',
    async () => {
      const exporter = new OTLPTraceExporter({ url: `${server.url}/v1/traces` });
      const rootSpan = agent.spans.find((span) => span.spanContext().spanId === agent.ids.root)!;
      for (const span of agent.spans.filter((span) => span !== rootSpan))
        await exportSpans(exporter, [span]);
      const row = page.locator(`.run-row[data-run-id="${runId}"]`);
      await row.waitFor({ timeout: WAIT_MS });
      await exportSpans(exporter, [rootSpan]);
      await page
        .locator(`.run-row[data-run-id="${runId}"][data-status="completed"]`)
        .waitFor({ timeout: WAIT_MS });
      assert.match(await row.innerText(), /invoke_agent coder/);
    },
  );

  await t.test('its tool calls are drawn, the failed one marked', async () => {
    await page.locator(`.run-row[data-run-id="${runId}"]`).click();
    await page.locator('#tab-tools').click();
    await page.locator('.waterfall-row').nth(1).waitFor({ timeout: WAIT_MS });
    const rows = await page.$$eval('.waterfall-row', (items) =>
      items.map((item) => [
        item.querySelector('.call-name')!.textContent,
        item.classList.contains('failed') || item.querySelector('.call-state')!.textContent,
      ]),
    );
    assert.deepEqual(
      rows.map(([name]) => name),
      ['read_file', 'bash'],
    );
    assert.ok(rows[1]![1], `the bash call is marked failed: ${JSON.stringify(rows)}`);
    assert.deepEqual(pageErrors, []);
  });
});
