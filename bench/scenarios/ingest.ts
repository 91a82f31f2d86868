// Single-event POST ingest, ours against a bare node:http server (harness/bare-server.ts) under
// the same load from separate processes. The servers' CPU time comes from /proc, so the table says
// whether the baseline saturated its core. It runs twice: with node:http's client, and with a lean
// client over node:net, because on two cores a node:http load generator runs out of CPU before a
// bare server does, and then the throughput ratio flatters us. Events per server CPU-second,
// ours / bare, is the figure the load generator cannot distort; the budget judges it under the
// lean load, where the baseline is not held back by its load generator.
import { BUDGETS } from '../budgets.ts';
import { fmt, pct } from '../harness/format.ts';
import { describeIngest, measureIngest, type IngestResult } from '../harness/ingest-window.ts';
import { noiseNote } from '../harness/proc-stats.ts';
import { passFail } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { startBare, withServer } from '../harness/servers.ts';

export const title = 'single-event POST ingest, ours vs a bare node:http server, same load';

const LOAD = { mode: 'post', processes: 2, connections: 16, batchSize: 1000 } as const;
/** A baseline below this share of a core was held back by the load, not by its own work. */
const SATURATED_CORE_FRACTION = 0.9;

/** Events per second of the server's own CPU time. */
function perCpuSecond(result: IngestResult): number {
  return result.eventsPerS / Math.max(result.serverCores, 1e-9);
}

export async function run({ report, sharedServer }: Bench): Promise<void> {
  const ours = await sharedServer();
  const budget = BUDGETS.ingest.perCpuRatio;
  const measured: Record<string, unknown> = {};
  const efficiency: string[] = [];
  let leanCpuRatio = NaN;
  let leanNoise = '';
  for (const client of ['http', 'lean'] as const) {
    const load = client === 'http' ? 'node:http load' : 'lean net load';
    const bareServer = await startBare();
    const bare = await withServer(report, bareServer, 'bare server', () =>
      measureIngest(report, bareServer, `bare-${client}`, { ...LOAD, client, verify: false }),
    );
    console.log(`  bare, ${load}: ${describeIngest(bare)}`);
    const mine = await measureIngest(report, ours, `single-${client}`, {
      ...LOAD,
      client,
      verify: true,
    });
    console.log(`  ours, ${load}: ${describeIngest(mine)}`);
    const ratio = mine.eventsPerS / bare.eventsPerS;
    const saturated = bare.serverCores >= SATURATED_CORE_FRACTION;
    const cpuRatio = perCpuSecond(mine) / perCpuSecond(bare);
    if (client === 'lean') {
      leanCpuRatio = cpuRatio;
      leanNoise = noiseNote(Math.max(bare.otherCores, mine.otherCores));
    }
    measured[client] = { bare, ours: mine, ratio, bareSaturated: saturated, cpuRatio };
    efficiency.push(`${fmt(cpuRatio, 2)}× (${load})`);
    report.row(
      `single-event ingest, bare (${load})`,
      `${fmt(bare.eventsPerS)} ev/s`,
      'baseline',
      `core ${saturated ? 'saturated' : 'NOT saturated'} (${pct(bare.serverCores)})`,
    );
    report.row(
      `single-event ingest, ours (${load})`,
      `${fmt(mine.eventsPerS)} ev/s (${pct(mine.serverCores)} of a core)`,
      'report only',
      `${fmt(ratio, 2)}× bare${saturated ? '' : ' (load-bound)'}` +
        noiseNote(Math.max(bare.otherCores, mine.otherCores)),
    );
  }
  report.results.ingest = measured;
  report.row(
    'ingest events per server CPU-s, ours / bare',
    efficiency.join(', '),
    `≥ ${budget} × bare (lean)`,
    passFail(leanCpuRatio >= budget) + leanNoise,
  );
}
