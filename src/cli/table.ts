/** Plain-text tables sized to the terminal, kubectl style: upper-case headers, 3 spaces between columns. */

export interface TableColumn {
  header: string;
  /** May be shortened (with …) when the table is wider than the terminal; identifiers are not. */
  truncate?: boolean;
  /** Narrowest a truncatable column is shortened to (default: its header's width up to 10, at least 5). */
  minWidth?: number;
  align?: 'left' | 'right';
}

const GAP = '   ';
const ELLIPSIS = '…';

/** Characters of a cell as a terminal shows them: one line, no control characters. */
export function cleanCell(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

const widthOf = (s: string) => Array.from(s).length;

/** Shortens to `width` characters, marking the cut with an ellipsis. */
export function truncate(value: string, width: number): string {
  const chars = Array.from(value);
  if (chars.length <= width) return value;
  if (width <= 1) return chars.slice(0, Math.max(0, width)).join('');
  return chars.slice(0, width - 1).join('') + ELLIPSIS;
}

function pad(value: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - widthOf(value)));
  return align === 'right' ? fill + value : value + fill;
}

/**
 * Column widths that fit `maxWidth` when possible: the widest truncatable column gives up
 * characters first, down to its minimum; identifiers keep their width (a table then wraps).
 */
export function fitWidths(columns: TableColumn[], natural: number[], maxWidth?: number): number[] {
  const widths = [...natural];
  if (!maxWidth || maxWidth <= 0) return widths;
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * Math.max(0, widths.length - 1);
  // A long header may be cut too (to 10), but never a column below 5 characters.
  const floor = columns.map((c) => Math.max(c.minWidth ?? Math.max(5, Math.min(10, widthOf(c.header))), 1));
  while (total() > maxWidth) {
    let widest = -1;
    for (let i = 0; i < columns.length; i++) {
      if (!columns[i].truncate || widths[i] <= floor[i]) continue;
      if (widest < 0 || widths[i] > widths[widest]) widest = i;
    }
    if (widest < 0) break;
    // Take what is needed in one step, but no further than the next-widest column or the floor.
    const others = widths.filter((_, i) => i !== widest && columns[i].truncate);
    const nextWidest = others.length ? Math.max(...others) : 0;
    const excess = total() - maxWidth;
    const target = Math.max(floor[widest], Math.min(widths[widest] - 1, Math.max(nextWidest, widths[widest] - excess)));
    widths[widest] = target;
  }
  return widths;
}

export interface RenderOptions {
  /** Terminal width; undefined = never truncate (output is not a terminal). */
  maxWidth?: number;
  headers?: boolean;
  /** Widths of an earlier render, kept as a minimum so that later rows of a watch line up. */
  widths?: number[];
}

/** Renders rows as lines (no trailing spaces), returning the widths used so that more rows can follow aligned. */
export function renderTable(columns: TableColumn[], rows: string[][], opts: RenderOptions = {}): { lines: string[]; widths: number[] } {
  const showHeaders = opts.headers ?? true;
  const cells = rows.map((r) => columns.map((_, i) => cleanCell(r[i] ?? '')));
  const natural = columns.map((c, i) => Math.max(widthOf(c.header), opts.widths?.[i] ?? 0, ...cells.map((r) => widthOf(r[i]))));
  const widths = fitWidths(columns, natural, opts.maxWidth);
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const text = columns[i].truncate ? truncate(v, widths[i]) : v;
        return i === values.length - 1 && columns[i].align !== 'right' ? text : pad(text, widths[i], columns[i].align);
      })
      .join(GAP)
      .replace(/\s+$/, '');
  const lines = [];
  if (showHeaders) lines.push(line(columns.map((c) => c.header)));
  for (const r of cells) lines.push(line(r));
  return { lines, widths };
}
