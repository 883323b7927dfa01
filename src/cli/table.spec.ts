import { fitWidths, renderTable, TableColumn, truncate } from './table';

const cols: TableColumn[] = [{ header: 'NAME' }, { header: 'DESCRIPTION', truncate: true }, { header: 'COUNT', align: 'right' }];

describe('tables', () => {
  it('aligns columns with three spaces and no trailing blanks', () => {
    const { lines } = renderTable(cols, [
      ['checkout', 'payments collectors', '3'],
      ['edge', 'x', '12'],
    ]);
    expect(lines).toEqual(['NAME       DESCRIPTION           COUNT', 'checkout   payments collectors       3', 'edge       x                        12']);
    for (const l of lines) expect(l).toBe(l.trimEnd());
  });

  it('shortens truncatable columns to fit the terminal, never identifiers', () => {
    const rows = [['0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90', 'a very long description that does not fit in a narrow terminal', '1']];
    const { lines } = renderTable(cols, rows, { maxWidth: 70 });
    expect(lines.every((l) => l.length <= 70)).toBe(true);
    expect(lines[1]).toContain('0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90');
    expect(lines[1]).toContain('…');
    // Too narrow even for the identifiers: the identifiers stay whole and the line is wider.
    const narrow = renderTable(cols, rows, { maxWidth: 20 });
    expect(narrow.lines[1].startsWith('0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90')).toBe(true);
    expect(narrow.widths[1]).toBe(10); // a long header is cut to 10 at most
  });

  it('gives up width from the widest truncatable column first', () => {
    const c: TableColumn[] = [
      { header: 'A', truncate: true },
      { header: 'B', truncate: true },
    ];
    expect(fitWidths(c, [40, 10], 33)).toEqual([20, 10]);
    expect(fitWidths(c, [40, 30], 33)).toEqual([15, 15]);
    expect(fitWidths(c, [40, 30], undefined)).toEqual([40, 30]);
  });

  it('keeps cells on one line and can leave out the header', () => {
    const { lines } = renderTable([{ header: 'X' }], [['a\nb\tc']], { headers: false });
    expect(lines).toEqual(['a b c']);
  });

  it('keeps earlier widths so that rows printed later line up', () => {
    const first = renderTable(cols, [['a-long-name', 'd', '1']]);
    const later = renderTable(cols, [['b', 'e', '2']], { headers: false, widths: first.widths });
    expect(later.lines[0].indexOf('e')).toBe(first.lines[1].indexOf('d'));
  });

  it('truncates by characters with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(truncate('héllo wörld', 5)).toBe('héll…');
  });
});
