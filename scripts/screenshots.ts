// Screenshots of the dashboard for the README, made from a real server and real CLI runs (never
// by hand): a server on port 0 with a fresh data directory, a few finished runs, a failed command,
// and a live simulated run that is still going when the pictures are taken at desktop and phone
// size. Run it with `npm run screenshots`; it writes docs/screenshots/live-desktop.png and
// docs/screenshots/live-phone.png.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/helpers/browser.ts';
import { CLI, startServer } from '../test/helpers/server.ts';

const OUT_DIR = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const LIVE_RUN_ID = 'run-live-refactor';
/** Long enough that the run is still going when both pictures are taken. */
const LIVE_STEPS = 600;
const LIVE_INTERVAL_MS = 350;
/** How long the live run streams before the first picture. */
const WARM_UP_MS = 6_000;
const VIEWPORTS = [
  { file: 'live-desktop.png', width: 1400, height: 900 },
  { file: 'live-phone.png', width: 390, height: 844 },
] as const;

function cli(server: string, args: string[]): ChildProcess {
  // --server goes right after the command name: anything after `exec … --` belongs to the command.
  const [command, ...rest] = args;
  return spawn(process.execPath, [CLI, command!, '--server', server, ...rest], {
    stdio: 'ignore',
  });
}

function finished(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const server = await startServer();
const children: ChildProcess[] = [];
const browser = await launchBrowser();
try {
  // Finished runs first, so the live one is listed above them.
  await finished(
    cli(server.url, ['run', '--steps', '12', '--interval', '5ms', '--title', 'Nightly eval', '-q']),
  );
  await finished(
    cli(server.url, [
      'run',
      '--steps',
      '10',
      '--interval',
      '5ms',
      '--failAt',
      '6',
      '--title',
      'Nightly eval',
      '-q',
    ]),
  );
  const script =
    'for i in 1 2 3 4 5 6; do printf "\\033[32m✓\\033[0m test %s passed\\n" $i; done; ' +
    'echo "TypeError: cannot read properties of undefined (reading \'id\')" >&2; ' +
    'echo "    at parseUser (src/user.ts:42:17)" >&2; exit 1';
  await finished(
    cli(server.url, [
      'exec',
      '--title',
      'npm test',
      '--metadata',
      '{"tags":["ci","main"]}',
      '--',
      'sh',
      '-c',
      script,
    ]),
  );
  const live = cli(server.url, [
    'run',
    '--id',
    LIVE_RUN_ID,
    '--title',
    'Refactor the auth module',
    '--steps',
    String(LIVE_STEPS),
    '--interval',
    `${LIVE_INTERVAL_MS}ms`,
    '-q',
  ]);
  children.push(live);
  await sleep(WARM_UP_MS);

  mkdirSync(OUT_DIR, { recursive: true });
  for (const { file, width, height } of VIEWPORTS) {
    const context = await browser.browser.newContext({
      viewport: { width, height },
      colorScheme: 'light',
      deviceScaleFactor: width < 500 ? 2 : 1,
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/#/runs/${LIVE_RUN_ID}`);
    await page.locator('.event-row:not(.loading)').first().waitFor();
    await page.locator('.run-activity .activity-step').waitFor();
    if (width >= 1024) {
      // Open the newest tool result in the inspector, as a reader would.
      await page
        .locator('.event-row:not(.loading) .type', { hasText: 'tool.result' })
        .last()
        .click();
    }
    await sleep(1_200);
    await page.screenshot({ path: `${OUT_DIR}${file}` });
    console.log(`wrote docs/screenshots/${file}`);
    await context.close();
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await browser.close();
  await server.stop();
  rmSync(server.dataDir, { recursive: true, force: true });
}
