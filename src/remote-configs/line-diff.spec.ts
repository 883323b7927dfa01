import { diffLines, unifiedDiff } from './line-diff';

const opts = { fromLabel: 'a', toLabel: 'b' };

/** Applies a unified diff to `from` (a small patch(1)) — the diff must turn from into to. */
function applyPatch(from: string, diff: string): string {
  if (diff === '') return from;
  const lines = from.split(/(?<=\n)/);
  const out: string[] = [];
  let pos = 0;
  const d = diff.split('\n').slice(2, -1);
  for (let k = 0; k < d.length; k++) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(d[k]);
    if (h) {
      const start = Number(h[1]) - (h[2] === '0' ? 0 : 1);
      while (pos < start) out.push(lines[pos++]);
      continue;
    }
    const noNl = d[k + 1] === '\\ No newline at end of file';
    const text = d[k].slice(1) + (noNl ? '' : '\n');
    if (d[k][0] === ' ') {
      expect(lines[pos]).toBe(text);
      out.push(lines[pos++]);
    } else if (d[k][0] === '-') {
      expect(lines[pos]).toBe(text);
      pos++;
    } else if (d[k][0] === '+') out.push(text);
    if (noNl) k++;
  }
  while (pos < lines.length) out.push(lines[pos++]);
  return out.join('');
}

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', opts)).toBe('');
  });

  it('writes hunks with three lines of context, as diff -u does', () => {
    const from = 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines: {}\n';
    const to = 'receivers:\n  otlp:\n    protocols:\n      http: {}\nexporters:\n  debug: {}\nservice:\n  pipelines: {}\n';
    expect(unifiedDiff(from, to, { fromLabel: 'cfg@1', toLabel: 'cfg@2' })).toBe(
      [
        '--- cfg@1',
        '+++ cfg@2',
        '@@ -1,7 +1,7 @@',
        ' receivers:',
        '   otlp:',
        '     protocols:',
        '-      grpc: {}',
        '+      http: {}',
        ' exporters:',
        '   debug: {}',
        ' service:',
        '',
      ].join('\n'),
    );
  });

  it('splits distant changes into hunks and joins near ones', () => {
    const from = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const to = from.replace('line 2\n', 'line two\n').replace('line 18\n', 'line eighteen\n');
    const d = unifiedDiff(from, to, opts);
    expect(d.split('\n').filter((l) => l.startsWith('@@'))).toEqual(['@@ -1,5 +1,5 @@', '@@ -15,6 +15,6 @@']);
    const near = from.replace('line 5\n', 'five\n').replace('line 11\n', 'eleven\n');
    expect(
      unifiedDiff(from, near, opts)
        .split('\n')
        .filter((l) => l.startsWith('@@')),
    ).toEqual(['@@ -2,13 +2,13 @@']);
  });

  it('handles empty texts and missing final newlines', () => {
    expect(unifiedDiff('', 'a\n', opts)).toBe('--- a\n+++ b\n@@ -0,0 +1 @@\n+a\n');
    expect(unifiedDiff('a\n', '', opts)).toBe('--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n');
    expect(unifiedDiff('a\nb', 'a\nb\n', opts)).toBe('--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n');
  });

  it('finds a minimal edit script', () => {
    const ops = diffLines(['a', 'b', 'c', 'a', 'b', 'b', 'a'], ['c', 'b', 'a', 'b', 'a', 'c']);
    expect(ops.filter((o) => o.kind === ' ').length).toBe(4); // the LCS of the classic Myers example has 4 elements
  });

  it('produces diffs that patch the old text into the new one', () => {
    let seed = 7;
    // mulberry32: small, seeded, with good low bits
    const rnd = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    for (let round = 0; round < 200; round++) {
      const words = ['a', 'b', 'c', 'd', 'e'];
      const text = (len: number) => Array.from({ length: len }, () => words[rnd(5)] + '\n').join('') + (rnd(3) === 0 ? 'end' : '');
      const from = text(rnd(15));
      const to = text(rnd(15));
      expect(applyPatch(from, unifiedDiff(from, to, { ...opts, context: rnd(4) }))).toBe(to);
    }
  });
});
