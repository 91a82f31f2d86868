// Plain aligned columns; the last column is left unpadded so long titles do not pad every line.
// Given the terminal's width, a table fits it: the columns named in `dropFirst` go, in that order,
// while the last column would be narrower than MIN_LAST_COLUMN_CHARS, and the last column is cut
// with "…".

/** The last column keeps at least this many characters, even if the line then wraps. */
export const MIN_LAST_COLUMN_CHARS = 16;

const GAP = '  ';

export interface TableFit {
  /** The terminal's width; undefined: no limit. */
  maxWidth?: number | undefined;
  /** Header names of the columns that may be left out, least useful first. */
  dropFirst?: readonly string[];
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Width of every column but the last, gaps included. */
function widthBeforeLast(widths: readonly number[]): number {
  return widths.slice(0, -1).reduce((sum, width) => sum + width + GAP.length, 0);
}

export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  { maxWidth = Number.POSITIVE_INFINITY, dropFirst = [] }: TableFit = {},
): string {
  let keep = header.map((_, column) => column);
  let widths = keep.map((column) =>
    Math.max(header[column]!.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const name of dropFirst) {
    if (maxWidth - widthBeforeLast(widths) >= MIN_LAST_COLUMN_CHARS) break;
    const at = keep.findIndex((column) => header[column] === name);
    if (at === -1 || at === keep.length - 1) continue;
    keep = keep.filter((_, index) => index !== at);
    widths = widths.filter((_, index) => index !== at);
  }
  const lastWidth = Math.max(MIN_LAST_COLUMN_CHARS, maxWidth - widthBeforeLast(widths));
  const line = (cells: readonly string[]): string =>
    keep
      .map((column, index) => {
        const cell = cells[column] ?? '';
        return index === keep.length - 1 ? cut(cell, lastWidth) : cell.padEnd(widths[index]!);
      })
      .join(GAP);
  return [line(header), ...rows.map(line)].join('\n');
}
