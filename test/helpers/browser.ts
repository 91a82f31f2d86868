// Launches Debian's chromium through playwright-core (no browser download). launch() gives it a
// fresh temporary profile of its own (it refuses a --user-data-dir argument) and removes it on close,
// and each test context is isolated from the others.
import { chromium, type Browser, type Page } from 'playwright-core';

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

export interface BrowserHandle {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHandle> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return { browser, close: () => browser.close() };
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
