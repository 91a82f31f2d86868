// The bench's layout, not its figures (speed is measured by `npm run bench`, never asserted in a
// test): every scenario of the registry loads, every budget names a registered scenario or none,
// and an unknown scenario name is a usage error that lists the scenarios.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUDGETS } from '../bench/budgets.ts';
import { SCENARIOS } from '../bench/scenarios.ts';

const RUN = fileURLToPath(new URL('../bench/run.ts', import.meta.url));

test('bench layout', async (t) => {
  await t.test('every registered scenario exports a title and a run function', async () => {
    for (const [name, load] of Object.entries(SCENARIOS)) {
      const scenario = await load();
      assert.equal(typeof scenario.title, 'string', name);
      assert.equal(typeof scenario.run, 'function', name);
    }
  });

  await t.test('every budget names a registered scenario, or none yet', () => {
    // A budget with no scenario is reported as such by `npm run bench`; one naming a scenario must
    // name one that exists.
    for (const [key, budget] of Object.entries(BUDGETS)) {
      if (budget.scenario !== undefined) assert.ok(budget.scenario in SCENARIOS, key);
    }
  });

  await t.test('an unknown scenario exits 2 naming it and listing the scenarios', async (t) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUN, 'ingest', 'no-such'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 2, output);
    assert.equal(
      output,
      `bench: no scenario "no-such"; the scenarios are: ${Object.keys(SCENARIOS).join(', ')}\n`,
    );
  });
});
