import { writeSync } from 'node:fs';

/**
 * Writes all of `buffer` at the end of `fd`. write(2) may take only part of it (a disk filling up
 * takes what fits, then refuses the rest), so it is called until everything is written or it throws.
 */
export function writeAll(fd: number, buffer: Buffer): void {
  let written = 0;
  while (written < buffer.length)
    written += writeSync(fd, buffer, written, buffer.length - written);
}
