// The mark of a clean stop: `clean-stop` in the data directory, written once every run's snapshot
// in runs.jsonl covers the run's files and everything is synced, with the size runs.jsonl had
// then. A start that finds it, and runs.jsonl at that size, can take the snapshots as they are
// instead of looking at every run's active segment (a stat each: ~0.5 s for 100,000 runs). The
// start removes the mark, durably, before anything is written, so a crash from then on is never
// taken for a clean stop.
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const MARK_FILE = 'clean-stop';

interface Mark {
  at: string;
  runIndexBytes: number;
}

/** Writes the mark and fsyncs it; a mark the disk refuses is left out (the next start checks). */
export function markCleanStop(dataDir: string, runIndexBytes: number): void {
  const mark: Mark = { at: new Date().toISOString(), runIndexBytes };
  const path = join(dataDir, MARK_FILE);
  try {
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, JSON.stringify(mark) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    rmSync(path, { force: true });
  }
}

/**
 * Whether the last stop was clean and runs.jsonl is as it left it (`runIndexBytes` long). The
 * mark is removed either way, and the removal made durable, before this returns.
 */
export function takeCleanStop(dataDir: string, runIndexBytes: number): boolean {
  const path = join(dataDir, MARK_FILE);
  let mark: Partial<Mark> | undefined;
  try {
    mark = JSON.parse(readFileSync(path, 'utf8')) as Partial<Mark>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // A damaged mark is no mark.
  }
  rmSync(path, { force: true });
  const dir = openSync(dataDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return mark?.runIndexBytes === runIndexBytes;
}
