import { parseRange, rangeStillValid } from './package-range';

describe('parseRange', () => {
  const size = 1000;

  it('serves the whole file without a Range header, or with one it does not serve', () => {
    expect(parseRange(undefined, size)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=0-1,5-6', size)).toEqual({ kind: 'whole' });
    expect(parseRange('items=0-1', size)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=-', size)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=20-10', size)).toEqual({ kind: 'whole' });
  });

  it('reads a start-end range, clamping the end to the file', () => {
    expect(parseRange('bytes=0-99', size)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=900-5000', size)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange(' bytes = 10 - 10 ', size)).toEqual({ kind: 'partial', start: 10, end: 10 });
  });

  it('reads an open range (resume from a byte) and a suffix range (the last n bytes)', () => {
    expect(parseRange('bytes=700-', size)).toEqual({ kind: 'partial', start: 700, end: 999 });
    expect(parseRange('bytes=-100', size)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange('bytes=-5000', size)).toEqual({ kind: 'partial', start: 0, end: 999 });
  });

  it('finds a range that starts past the end unsatisfiable', () => {
    expect(parseRange('bytes=1000-', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=1000-2000', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('keeps a range only while If-Range names the same entity tag', () => {
    expect(rangeStillValid(undefined, '"abc"')).toBe(true);
    expect(rangeStillValid('"abc"', '"abc"')).toBe(true);
    expect(rangeStillValid('"other"', '"abc"')).toBe(false);
    expect(rangeStillValid('Wed, 21 Oct 2015 07:28:00 GMT', '"abc"')).toBe(false);
  });
});
