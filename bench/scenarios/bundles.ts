// Bundle sizes, raw and gzipped: the CLI, the server, and the dashboard's files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bytes } from '../harness/format.ts';
import type { Bench } from '../harness/scenario.ts';
import { BENCH_CLI } from '../harness/servers.ts';

export const title = 'bundles';

const BUNDLES = ['agent-ops.js', 'server.js'];
const DASHBOARD_FILES = ['index.html', 'assets/app.js', 'assets/style.css'];

interface Size {
  bytes: number;
  gzip: number;
}

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

function sizeOf(files: string[]): Size {
  return {
    bytes: files.reduce((sum, f) => sum + statSync(f).size, 0),
    gzip: files.reduce((sum, f) => sum + gzipSync(readFileSync(f)).length, 0),
  };
}

export async function run({ report }: Bench): Promise<void> {
  const dist = dirname(BENCH_CLI);
  const sizes: Record<string, Size> = {};
  for (const name of BUNDLES) {
    const path = join(dist, name);
    if (!existsSync(path)) continue;
    const files = filesUnder(path);
    const size = (sizes[name] = sizeOf(files));
    report.row(
      `bundle ${name}${files.length > 1 ? ` (${files.length} files)` : ''}`,
      `${bytes(size.bytes)} (${bytes(size.gzip)} gzip)`,
      'report only',
    );
  }
  report.results.bundles = sizes;

  const dashboard: Record<string, Size> = {};
  const total: Size = { bytes: 0, gzip: 0 };
  for (const name of DASHBOARD_FILES) {
    const path = join(dist, 'dashboard', name);
    if (!existsSync(path)) {
      report.row(`dashboard ${name}`, 'missing: run npm run build', '', 'BROKEN');
      report.broken(`dashboard bundle: ${path} is missing`);
      continue;
    }
    const size = (dashboard[name] = sizeOf([path]));
    total.bytes += size.bytes;
    total.gzip += size.gzip;
    report.row(
      `dashboard ${name}`,
      `${bytes(size.bytes)} (${bytes(size.gzip)} gzip)`,
      'report only',
    );
  }
  report.row(
    'dashboard bundle, total',
    `${bytes(total.bytes)} (${bytes(total.gzip)} gzip)`,
    'report only',
  );
  report.results.dashboardBundle = { files: dashboard, ...total };
}
