/**
 * Feeds each whole line of `buffer` to `parse` and stops at the first one it rejects or at an
 * unterminated tail: what follows is a torn write, reported in `tornBytes`.
 */
export function scanLines(
  buffer: Buffer,
  parse: (line: string, start: number) => void,
): { count: number; end: number; tornBytes: number } {
  let start = 0;
  let count = 0;
  while (start < buffer.length) {
    const newline = buffer.indexOf(0x0a, start);
    if (newline === -1) break;
    try {
      parse(buffer.toString('utf8', start, newline), start);
    } catch {
      break;
    }
    count++;
    start = newline + 1;
  }
  return { count, end: start, tornBytes: buffer.length - start };
}
