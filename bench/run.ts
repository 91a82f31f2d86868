// `npm run bench [-- <scenario>…]`: measures agent-ops against the budgets of bench/budgets.ts
// and prints a table plus bench-results.json. With no names it runs every scenario of
// bench/scenarios.ts in order; with names, those alone. Machines are noisy, so
// throughputs are set beside a baseline measured in the same run, on the same machine, and every
// window says how much CPU went to other work.
//
// It is a report: a slow machine prints FAIL in the table and still exits 0. Something broken
// (an acknowledged event missing, an error answer, a server that crashes) exits 1; an unknown
// scenario name exits 2. BENCH_CLI=<path> points it at another build of dist/agent-ops.js;
// BENCH_MEASURE_MS shortens the measurement windows.
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BUDGETS, type Budget } from './budgets.ts';
import { benchTempDir, cleanUp, cleanUpOnExit } from './harness/children.ts';
import { firstLine, fmt } from './harness/format.ts';
import { Report } from './harness/report.ts';
import type { Bench } from './harness/scenario.ts';
import { BENCH_CLI, startOurs, type BenchServer } from './harness/servers.ts';
import { MEASURE_MS, WARMUP_MS } from './harness/timing.ts';
import { SCENARIOS } from './scenarios.ts';

const RESULTS_FILE = join(fileURLToPath(new URL('..', import.meta.url)), 'bench-results.json');
const USAGE_EXIT_CODE = 2;

/** The names asked for, in the registry's order; every name must be a scenario. */
function chosenScenarios(args: string[]): string[] {
  const known = Object.keys(SCENARIOS);
  const unknown = args.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    const list = unknown.map((name) => `"${name}"`).join(', ');
    throw new UsageError(`no scenario ${list}; the scenarios are: ${known.join(', ')}`);
  }
  return args.length === 0 ? known : known.filter((name) => args.includes(name));
}

class UsageError extends Error {}

/** Every budget names a scenario of the registry or none: a typo would hide a budget. */
function checkBudgets(): void {
  for (const [key, budget] of Object.entries(BUDGETS)) {
    if (budget.scenario !== undefined && !(budget.scenario in SCENARIOS)) {
      throw new Error(`budget ${key} names no scenario: "${budget.scenario}"`);
    }
  }
}

interface Unmeasured {
  what: string;
  budget: string;
  status: string;
}

/** The budgets of bench/budgets.ts no scenario measures (yet), for whoever adds the scenario. */
function unmeasured(): Unmeasured[] {
  // Widened to Budget: with every row checked, `scenario === undefined` would narrow to never.
  const budgets: Budget[] = Object.values(BUDGETS);
  return budgets.flatMap((budget): Unmeasured[] => {
    if (budget.scenario === undefined) {
      return [{ what: budget.what, budget: budget.text, status: 'no scenario yet' }];
    }
    if (budget.notYet !== undefined) {
      return [
        { what: budget.what, budget: budget.text, status: `not measured yet: ${budget.notYet}` },
      ];
    }
    return [];
  });
}

function printUnmeasured(rows: Unmeasured[]): void {
  console.log('\nBudgets the bench does not check yet (to add a scenario, see bench/README.md):');
  for (const row of rows) console.log(`  ${row.what}: ${row.status}\n    budget: ${row.budget}`);
}

async function section(report: Report, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report.broken(`${name}: ${message}`);
    report.row(name, `error: ${firstLine(message)}`, '', 'BROKEN');
  }
}

async function main(args: string[]): Promise<void> {
  const began = performance.now();
  checkBudgets();
  const names = chosenScenarios(args);
  if (!existsSync(BENCH_CLI)) throw new Error(`${BENCH_CLI} is missing: run npm run build`);
  console.log(
    `agent-ops bench: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ` +
      `${MEASURE_MS / 1000} s windows after ${WARMUP_MS / 1000} s of warm-up`,
  );
  const report = new Report();
  let shared: Promise<BenchServer> | undefined;
  const bench: Bench = {
    report,
    sharedServer: () => (shared ??= startOurs(benchTempDir('shared'))),
  };
  const all = Object.keys(SCENARIOS);
  for (const name of names) {
    const scenario = await SCENARIOS[name]!();
    console.log(`\n[${all.indexOf(name) + 1}] ${scenario.title}`);
    await section(report, name, () => scenario.run(bench));
  }
  if (shared) {
    await section(report, 'shared server', async () => {
      await (await shared!).stop();
    });
  }
  report.printTable();
  const notChecked = names.length === all.length ? unmeasured() : [];
  if (notChecked.length > 0) printUnmeasured(notChecked);
  const seconds = (performance.now() - began) / 1000;
  const results = {
    ...report.results,
    rows: report.rows,
    broken: report.problems,
    unmeasured: notChecked,
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      scenarios: names,
      warmupMs: WARMUP_MS,
      measureMs: MEASURE_MS,
      seconds,
    },
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${fmt(seconds, 1)} s; results in ${RESULTS_FILE}`);
  if (report.problems.length > 0) {
    console.log('\nBROKEN:');
    for (const problem of report.problems) console.log(`  - ${problem}`);
    process.exitCode = 1;
  }
}

cleanUpOnExit();
main(process.argv.slice(2))
  .catch((error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`bench: ${error.message}`);
      process.exitCode = USAGE_EXIT_CODE;
    } else {
      console.error(error);
      process.exitCode = 1;
    }
  })
  .finally(cleanUp);
