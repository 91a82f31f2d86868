// Bookkeeping: every child process and temp dir of the bench is registered here, so that any way
// out (the end, an error, Ctrl-C) kills them and removes them.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function benchTempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `agent-ops-bench-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export function cleanUp(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Cleans up on exit and on SIGINT / SIGTERM (exiting 130 / 143, as a shell expects). */
export function cleanUpOnExit(): void {
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanUp();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}
