// Reads a file line by line, a chunk at a time, so that reading a 64 MiB segment or a 50 MB run
// index never holds the whole file in memory.
import { closeSync, openSync, readSync } from 'node:fs';

/** The file is read this many bytes at a time (more for a longer line). */
const READ_CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * One buffer for every read: loading 100,000 small runs one after the other must not leave
 * 100,000 buffers of a megabyte each for the garbage collector. Reads are synchronous and
 * `onLine` never reads another file, so it is never in use twice.
 */
const chunk = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);

export interface FileLines {
  /** Where the last whole line ends. */
  end: number;
  /** Bytes after `end`: a last line with no newline. */
  tornBytes: number;
}

/**
 * Calls `onLine` for every whole line of the file with the bytes holding it, where the line starts
 * and where its newline is in them, and the line's offset in the file. The bytes are reused for the
 * next chunk once `onLine` returns; `onLine` must not read a file with readFileLines itself.
 */
export function readFileLines(
  path: string,
  onLine: (bytes: Buffer, start: number, newline: number, fileOffset: number) => void,
): FileLines {
  const fd = openSync(path, 'r');
  try {
    let bytes = chunk;
    /** The file offset of bytes[0], and how many bytes of `bytes` hold data. */
    let base = 0;
    let filled = 0;
    for (;;) {
      if (filled === bytes.length) {
        // A line longer than the buffer: make room for the rest of it.
        const larger = Buffer.allocUnsafe(bytes.length * 2);
        bytes.copy(larger, 0, 0, filled);
        bytes = larger;
      }
      const n = readSync(fd, bytes, filled, bytes.length - filled, base + filled);
      if (n === 0) return { end: base, tornBytes: filled };
      filled += n;
      const data = bytes.subarray(0, filled);
      let start = 0;
      for (let newline = data.indexOf(NEWLINE); newline !== -1;) {
        onLine(bytes, start, newline, base + start);
        start = newline + 1;
        newline = data.indexOf(NEWLINE, start);
      }
      bytes.copy(bytes, 0, start, filled);
      base += start;
      filled -= start;
    }
  } finally {
    closeSync(fd);
  }
}
