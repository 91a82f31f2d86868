// Plain aligned columns; the last column is left unpadded so long titles do not pad every line,
// and cut with "…" where a line would pass `maxWidth` (the terminal's width).

/** The last column keeps at least this many characters, even if the line then wraps. */
export const MIN_LAST_COLUMN_CHARS = 10;

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  maxWidth = Number.POSITIVE_INFINITY,
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const last = header.length - 1;
  const before = widths.slice(0, last).reduce((sum, width) => sum + width + 2, 0);
  const lastWidth = Math.max(MIN_LAST_COLUMN_CHARS, maxWidth - before);
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === last ? cut(cell, lastWidth) : cell.padEnd(widths[column]!),
      )
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
