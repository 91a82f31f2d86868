// Traces: a run of 20,000 spans (tool calls nested two deep under 200 parents), on a server of
// its own.
//
// 1. Server: GET /spans the first time (the span index builds the run's tree from its stored
//    events; also what every run costs after a restart) and again (the tree is kept).
// 2. Browser (Debian's chromium through test/helpers/browser.ts): the run view open, then inside
//    the page we note performance.now(), click the Trace tab and poll once per frame until the
//    first span's row is drawn and the summary strip counts all 20,000 spans. Median of 3 opens,
//    each in a fresh run view; long tasks from a PerformanceObserver installed before the page.
// 3. Live: a fresh run open on its Trace tab while this process posts 200 spans/s (a started and
//    an ended event each, in batches every 50 ms); the view keeps up when the strip counts every
//    span soon after the last post. Long tasks over 50 ms are counted.
// Without a browser the browser parts are skipped, with the helper's line saying how to get one.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BROWSER_MISSING, launchBrowser } from '../../test/helpers/browser.ts';
import { BUDGETS } from '../budgets.ts';
import { benchTempDir } from '../harness/children.ts';
import { createRuns, http } from '../harness/control-http.ts';
import { fmt, ms } from '../harness/format.ts';
import { median } from '../harness/latency.ts';
import { passFail, type Report } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { startOurs, withServer, type BenchServer } from '../harness/servers.ts';
import { MEASURE_MS } from '../harness/timing.ts';

export const title = 'traces';

const SPANS = 20_000;
const PARENTS = 200;
const POST_BATCH = 1000;
const OPENS = 3;
const LIVE_SPANS_PER_S = 200;
const LIVE_TICK_MS = 50;
const VIEWPORT = { width: 1280, height: 800 };
const DRAWN_TIMEOUT_MS = 30_000;

const BUDGET = BUDGETS.traces;

const INIT_SCRIPT = `
globalThis.__name = (fn) => fn;
globalThis.__benchLongTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) globalThis.__benchLongTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
} catch {}
`;

declare global {
  var __benchLongTasks: [number, number][];
}

export async function run({ report }: Bench): Promise<void> {
  const result: Record<string, unknown> = {};
  report.results.traces = result;
  const server = await startOurs(benchTempDir('traces'));
  await withServer(report, server, 'traces server', async () => {
    const runId = 'trace-big';
    await fillTrace(server, runId);
    result.server = await measureServer(report, server, runId);
    if (BROWSER_MISSING !== undefined) {
      console.log(`  skipped: ${BROWSER_MISSING}`);
      result.skipped = BROWSER_MISSING;
      report.row(`traces: open ${fmt(SPANS)}-span trace`, 'skipped: no browser');
      return;
    }
    const { browser } = await launchBrowser();
    try {
      result.open = await measureOpen(report, browser, server, runId);
      result.live = await measureLive(report, browser, server);
    } finally {
      await browser.close().catch(() => {});
    }
  });
}

async function post(server: BenchServer, runId: string, events: unknown[]): Promise<void> {
  const answer = await http('POST', `${server.url}/api/runs/${runId}/events`, events);
  if (answer.status !== 201) throw new Error(`POST events: ${answer.status} ${answer.text}`);
}

async function fillTrace(server: BenchServer, runId: string): Promise<void> {
  await createRuns(server.url, [runId]);
  const started = performance.now();
  const t0 = Date.now() - SPANS * 10;
  const at = (i: number) => new Date(t0 + i * 10).toISOString();
  const events: unknown[] = [];
  for (let i = 0; i < SPANS; i++) {
    const parentSpanId = i < PARENTS ? undefined : `s${i % PARENTS}`;
    if (i < PARENTS)
      events.push({
        type: 'span.started',
        ts: at(i),
        payload: { spanId: `s${i}`, name: `step ${i}`, kind: 'task' },
      });
    else
      events.push(
        {
          type: 'tool.called',
          ts: at(i),
          payload: { toolName: `tool-${i % 7}`, toolCallId: `s${i}`, parentSpanId, args: { n: i } },
        },
        {
          type: 'tool.result',
          ts: at(i + 1),
          payload: { toolName: `tool-${i % 7}`, toolCallId: `s${i}` },
        },
      );
  }
  for (let i = 0; i < events.length; i += POST_BATCH)
    await post(server, runId, events.slice(i, i + POST_BATCH));
  console.log(
    `  filled ${runId}: ${fmt(SPANS)} spans in ${fmt(events.length)} events, ${ms(performance.now() - started)}`,
  );
}

async function measureServer(report: Report, server: BenchServer, runId: string) {
  const get = async () => {
    const started = performance.now();
    const answer = await http('GET', `${server.url}/api/runs/${runId}/spans`);
    const elapsed = performance.now() - started;
    if (answer.status !== 200) throw new Error(`GET spans: ${answer.status}`);
    const count = (JSON.parse(answer.text) as unknown[]).length;
    if (count !== SPANS) report.broken(`traces: /spans answered ${count} spans, not ${SPANS}`);
    return { ms: elapsed, bytes: answer.text.length };
  };
  const cold = await get();
  const warm: number[] = [];
  for (let i = 0; i < 3; i++) warm.push((await get()).ms);
  report.row(
    `traces: GET /spans of ${fmt(SPANS)} spans, first (tree built from events)`,
    `${ms(cold.ms)}, ${fmt(cold.bytes / 1024 / 1024, 1)} MB`,
    'report only',
  );
  report.row(
    `traces: GET /spans again (tree kept)`,
    `${ms(median(warm))} (median of 3)`,
    'report only',
  );
  return { coldMs: cold.ms, warmMs: median(warm), bytes: cold.bytes };
}

async function openRunView(
  browser: Browser,
  url: string,
  runId: string,
): Promise<[BrowserContext, Page]> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await context.addInitScript({ content: INIT_SCRIPT });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(`${url}/#/runs/${encodeURIComponent(runId)}`);
  await page.getByRole('tab', { name: 'Trace' }).waitFor();
  return [context, page];
}

/** In the page: clicks the Trace tab and waits, frame by frame, for the strip to count `spans`. */
function openTab(page: Page, spans: string, timeoutMs: number) {
  return page.evaluate(
    async ({ spans, timeoutMs }) => {
      const t0 = performance.now();
      (document.querySelector('#tab-trace') as HTMLElement).click();
      for (;;) {
        await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
        const now = performance.now();
        const strip = document.querySelector('.trace-strip')?.textContent ?? '';
        const row = document.querySelector('.trace-row');
        if ((row && strip.includes(`spans${spans}`)) || now - t0 > timeoutMs)
          return {
            ms: now - t0,
            start: t0,
            end: now,
            timedOut: !row,
            rows: document.querySelectorAll('.trace-row').length,
          };
      }
    },
    { spans, timeoutMs },
  );
}

async function longTasks(page: Page, from: number, to: number): Promise<number[]> {
  const all = await page.evaluate(() => globalThis.__benchLongTasks);
  return all.filter(([start, duration]) => start + duration > from && start < to).map(([, d]) => d);
}

async function measureOpen(report: Report, browser: Browser, server: BenchServer, runId: string) {
  const opens: Array<{ ms: number; rows: number; longTasks: number[] }> = [];
  for (let i = 0; i < OPENS; i++) {
    const [context, page] = await openRunView(browser, server.url, runId);
    try {
      const open = await openTab(page, fmt(SPANS), DRAWN_TIMEOUT_MS);
      if (open.timedOut) throw new Error(`the trace was not drawn within ${DRAWN_TIMEOUT_MS} ms`);
      const tasks = await longTasks(page, open.start, open.end);
      opens.push({ ms: open.ms, rows: open.rows, longTasks: tasks });
      console.log(
        `  open ${i + 1}: drawn after ${ms(open.ms)}, ${open.rows} rows in the DOM; long tasks: ${
          tasks.length ? tasks.map((d) => ms(d)).join(', ') : 'none'
        }`,
      );
    } finally {
      await context.close().catch(() => {});
    }
  }
  const medianMs = median(opens.map((o) => o.ms));
  report.row(
    `traces: open ${fmt(SPANS)}-span trace (median of ${OPENS})`,
    `${ms(medianMs)} (${opens.map((o) => ms(o.ms)).join(', ')}); ${Math.max(...opens.map((o) => o.rows))} rows in DOM`,
    `≤ ${fmt(BUDGET.openMs)} ms`,
    passFail(medianMs <= BUDGET.openMs),
  );
  return { medianMs, opens };
}

async function measureLive(report: Report, browser: Browser, server: BenchServer) {
  const runId = 'trace-live';
  await createRuns(server.url, [runId]);
  await post(server, runId, [
    { type: 'span.started', payload: { spanId: 'root', name: 'root', kind: 'agent' } },
  ]);
  const [context, page] = await openRunView(browser, server.url, runId);
  try {
    await openTab(page, '1', DRAWN_TIMEOUT_MS);
    const windowStart = await page.evaluate(() => performance.now());
    const perTick = Math.round((LIVE_SPANS_PER_S * LIVE_TICK_MS) / 1000);
    const ticks = Math.round(MEASURE_MS / LIVE_TICK_MS);
    const started = performance.now();
    let sent = 0;
    for (let tick = 0; tick < ticks; tick++) {
      const batch: unknown[] = [];
      for (let i = 0; i < perTick; i++) {
        const spanId = `l${sent++}`;
        batch.push(
          {
            type: 'span.started',
            payload: { spanId, parentSpanId: 'root', name: `span ${sent}`, kind: 'tool' },
          },
          { type: 'span.ended', payload: { spanId } },
        );
      }
      await post(server, runId, batch);
      const next = started + (tick + 1) * LIVE_TICK_MS;
      await sleep(Math.max(0, next - performance.now()));
    }
    const rate = sent / ((performance.now() - started) / 1000);
    const total = fmt(sent + 1);
    const caughtUp = await page.evaluate(
      async ({ total, timeoutMs }) => {
        const t0 = performance.now();
        for (;;) {
          await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
          const strip = document.querySelector('.trace-strip')?.textContent ?? '';
          if (strip.includes(`spans${total}`)) return performance.now() - t0;
          if (performance.now() - t0 > timeoutMs) return -1;
        }
      },
      { total, timeoutMs: DRAWN_TIMEOUT_MS },
    );
    const windowEnd = await page.evaluate(() => performance.now());
    const tasks = await longTasks(page, windowStart, windowEnd);
    const over = tasks.filter((d) => d > 50);
    const ok = caughtUp >= 0;
    report.row(
      `traces: live ${fmt(LIVE_SPANS_PER_S)} spans/s for ${ms(MEASURE_MS)} (${fmt(rate)}/s sent)`,
      ok
        ? `all ${total} counted ${ms(caughtUp)} after the last post; ${over.length} long tasks > 50 ms` +
            (tasks.length ? ` (longest ${ms(Math.max(...tasks))})` : '')
        : 'did not catch up',
      'keeps up',
      passFail(ok),
    );
    return { rate, caughtUpMs: caughtUp, longTasks: tasks };
  } finally {
    await context.close().catch(() => {});
  }
}
