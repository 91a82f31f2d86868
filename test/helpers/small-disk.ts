// A small filesystem of its own for tests of a full or read-only disk: a tmpfs mounted on a
// temporary directory (tests and CI run as root). Whether mounting works here is found out once,
// with a probe mount: where it does not, `diskSuite` skips the suite with the reason outside CI,
// and under CI the suite runs and fails at its mount, as a browser suite does without a browser.
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { IN_CI } from './in-ci.ts';
import { tempDir } from './server.ts';

export interface SmallDisk {
  dir: string;
  /** Fills the disk until `leaveBytes` (rounded to pages) are free; returns what frees it again. */
  fill(leaveBytes: number): () => void;
  freeBytes(): number;
}

/** Mounts a tmpfs on `dir`; throws, naming why, when mounting is refused. */
function mount(dir: string, options: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`);
  }
}

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
const MOUNT_REFUSED = ((): string | undefined => {
  const dir = tempDir('agent-ops-probe-');
  try {
    mount(dir, 'size=64k');
    execFileSync('umount', ['-l', dir]);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** Options for a disk suite's test(): `{ skip: reason }` where mounting is refused outside CI. */
export const diskSuite: { skip?: string } =
  MOUNT_REFUSED !== undefined && !IN_CI ? { skip: MOUNT_REFUSED } : {};

/** Mounts a tmpfs of `sizeBytes` (read-only with `readOnly`), unmounted when the test ends. */
export function mountSmallDisk(
  t: { after(fn: () => void): void },
  sizeBytes: number,
  { readOnly = false } = {},
): SmallDisk {
  const dir = tempDir(readOnly ? 'agent-ops-ro-' : 'agent-ops-disk-');
  mount(dir, `${readOnly ? 'ro,' : ''}size=${sizeBytes}`);
  t.after(() => {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const freeBytes = () => {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  };
  let fillers = 0;
  return {
    dir,
    freeBytes,
    fill(leaveBytes) {
      const path = join(dir, `filler-${fillers++}`);
      const fd = openSync(path, 'w');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let size = 0;
      try {
        for (;;) size += writeSync(fd, chunk, 0, Math.min(chunk.length, freeBytes() || 1));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
      ftruncateSync(fd, Math.max(0, size - leaveBytes));
      closeSync(fd);
      return () => rmSync(path, { recursive: true, force: true });
    },
  };
}
