// Serves the built dashboard: `/` and `/assets/<file>`. Names are checked against a strict pattern
// before touching the disk, so no request can reach outside the dashboard directory.
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { NotFoundError } from '../shared/errors.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function serveStatic(
  dashboardDir: string,
  pathname: string,
  res: ServerResponse,
  headOnly: boolean,
): void {
  let file: string | undefined;
  if (pathname === '/' || pathname === '/index.html') file = join(dashboardDir, 'index.html');
  else if (pathname.startsWith('/assets/')) {
    const name = pathname.slice('/assets/'.length);
    if (ASSET_NAME.test(name) && !name.includes('..')) file = join(dashboardDir, 'assets', name);
  }
  if (file === undefined || !existsSync(file)) {
    throw new NotFoundError(
      `not found: ${pathname}${pathname === '/' ? ' (the dashboard is not built)' : ''}`,
    );
  }
  const body = readFileSync(file);
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=300',
    'x-content-type-options': 'nosniff',
  });
  res.end(headOnly ? undefined : body);
}
