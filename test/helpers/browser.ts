// Launches Debian's chromium through playwright-core (no browser download). launch() gives it a
// fresh temporary profile of its own (it refuses a --user-data-dir argument) and removes it on close,
// and each test context is isolated from the others.
//
// The one place that decides what a browser suite does without a browser: outside CI it is skipped
// with BROWSER_MISSING as the reason; under CI=true it runs, and browserFor fails it with the same
// line before anything else is started.
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { IN_CI } from './in-ci.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Why no browser can be launched here (one line: what is missing, how to get it), or undefined. */
export const BROWSER_MISSING: string | undefined = (() => {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return undefined;
  } catch {
    const where =
      process.env.CHROMIUM_PATH === undefined ? CHROMIUM_PATH : `${CHROMIUM_PATH} (CHROMIUM_PATH)`;
    return (
      `no chromium at ${where}: the browser tests need it; ` +
      '`apt-get install chromium`, or set CHROMIUM_PATH to a chromium binary'
    );
  }
})();

/**
 * Options for a browser suite's test(): `{ skip: reason }` when the browser is missing outside CI,
 * so the suite ends at once with that line; nothing otherwise.
 */
export const browserSuite: { skip?: string } =
  BROWSER_MISSING !== undefined && !IN_CI ? { skip: BROWSER_MISSING } : {};

export interface BrowserHandle {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHandle> {
  if (BROWSER_MISSING !== undefined) throw new Error(BROWSER_MISSING);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return { browser, close: () => browser.close() };
}

/** A browser for one test, closed when the test ends. Launch it before starting servers. */
export async function browserFor(t: { after(fn: () => Promise<void>): void }): Promise<Browser> {
  const handle = await launchBrowser();
  t.after(() => handle.close());
  return handle.browser;
}

/** The seqs of the drawn event rows (loading placeholders excluded), top to bottom. */
export function renderedSeqs(page: Page): Promise<number[]> {
  return page.$$eval('.event-row:not(.loading)', (rows) =>
    rows
      .map((row) => ({
        seq: Number((row as HTMLElement).dataset.seq),
        top: row.getBoundingClientRect().top,
      }))
      .sort((a, b) => a.top - b.top)
      .map((row) => row.seq),
  );
}
