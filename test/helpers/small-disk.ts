// A small filesystem of its own for tests of a full disk: a tmpfs mounted on a temporary directory
// (tests and CI run as root). Where mounting is refused, the test is skipped with the reason.
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './server.ts';

export interface SmallDisk {
  dir: string;
  /** Fills the disk until `leaveBytes` (rounded to pages) are free; returns what frees it again. */
  fill(leaveBytes: number): () => void;
  freeBytes(): number;
}

/** Mounts a tmpfs of `sizeBytes`; the reason it cannot when it cannot. */
export function mountSmallDisk(
  t: { after(fn: () => void): void },
  sizeBytes: number,
): SmallDisk | string {
  const dir = tempDir('agent-ops-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`;
  }
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
      return () => rmSync(path, { force: true });
    },
  };
}
