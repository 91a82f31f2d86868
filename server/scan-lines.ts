export interface LineScan {
  /** Lines `parse` accepted. */
  count: number;
  /** Where the last whole line ends: the end of the file unless its last line is torn. */
  end: number;
  /** Bytes after `end`: a last line with no newline, which only a write cut short leaves. */
  tornBytes: number;
  /** Start offsets of whole lines `parse` rejected: damage, skipped so what follows is kept. */
  damaged: number[];
}

/**
 * Feeds each whole line of `buffer` to `parse`. A line it rejects is damage and is skipped; only
 * an unterminated last line counts as torn, since that is all an interrupted append can leave.
 */
export function scanLines(buffer: Buffer, parse: (line: string, start: number) => void): LineScan {
  let start = 0;
  let count = 0;
  const damaged: number[] = [];
  while (start < buffer.length) {
    const newline = buffer.indexOf(0x0a, start);
    if (newline === -1) break;
    try {
      parse(buffer.toString('utf8', start, newline), start);
      count++;
    } catch {
      damaged.push(start);
    }
    start = newline + 1;
  }
  return { count, end: start, tornBytes: buffer.length - start, damaged };
}
