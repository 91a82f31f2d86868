// Bundles the CLI and the server into dist/ with esbuild; the server is loaded only by `serve`,
// so `agent-ops --help` never parses it.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir } from 'node:fs/promises';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
};

await build({
  ...common,
  entryPoints: { 'agent-ops': 'cli/main.ts' },
  outdir: 'dist',
  banner: { js: '#!/usr/bin/env node' },
});
await build({ ...common, entryPoints: { server: 'server/main.ts' }, outdir: 'dist' });
await chmod('dist/agent-ops.js', 0o755);

if (existsSync('dashboard/main.ts')) {
  await mkdir('dist/dashboard/assets', { recursive: true });
  await build({
    ...common,
    platform: 'browser',
    target: 'es2022',
    entryPoints: { app: 'dashboard/main.ts' },
    outdir: 'dist/dashboard/assets',
    minify: true,
  });
  await cp('dashboard/index.html', 'dist/dashboard/index.html');
  await cp('dashboard/style.css', 'dist/dashboard/assets/style.css');
}
