/**
 * Column alignment as docker's tables have it (Go's tabwriter with minwidth 10, padding 3):
 * cells are separated by tabs; every tab-terminated cell is padded to its column's width, the
 * last cell of a line is printed as is.
 */
const MIN_WIDTH = 10;
const PADDING = 3;

export function alignColumns(lines: string[], minWidth = MIN_WIDTH): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const cells of rows) {
    cells.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, Math.max(minWidth, [...c].length + PADDING));
    });
  }
  return rows
    .map((cells) =>
      cells
        .map((c, i) => (i < cells.length - 1 ? c + ' '.repeat(widths[i]! - [...c].length) : c))
        .join('')
        .replace(/\s+$/, ''),
    )
    .map((l) => `${l}\n`)
    .join('');
}

/** A table from a header and rows of cells (each row as many cells as the header). */
export function renderTable(header: string[], rows: string[][]): string {
  return alignColumns([header.join('\t'), ...rows.map((r) => r.join('\t'))]);
}
