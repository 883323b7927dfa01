/**
 * Unified diff of two texts, line by line, from a longest-common-subsequence table (no package).
 * Common head and tail lines are trimmed first, so the table covers only the changed middle; a
 * middle too large for the table is shown as one replacement, still a correct diff, just not minimal.
 */

export interface UnifiedDiffOptions {
  fromLabel: string;
  toLabel: string;
  /** Unchanged lines shown around each change. */
  context?: number;
}

/** Largest LCS table built, in cells (Uint32: 64 MiB). */
const MAX_TABLE_CELLS = 16_000_000;

type Op = { kind: ' ' | '-' | '+'; text: string };

/** Lines keep their terminator, so a last line without a newline differs from one with it. */
function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** The edit script turning `a` into `b`: equal lines, deletions before insertions in each change. */
export function diffLines(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;

  const ops: Op[] = a.slice(0, head).map((text) => ({ kind: ' ', text }));
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const n = am.length;
  const m = bm.length;

  if ((n + 1) * (m + 1) > MAX_TABLE_CELLS) {
    for (const text of am) ops.push({ kind: '-', text });
    for (const text of bm) ops.push({ kind: '+', text });
  } else {
    // Lines as small integers: comparisons in the table are then cheap.
    const ids = new Map<string, number>();
    const id = (s: string) => {
      let v = ids.get(s);
      if (v === undefined) ids.set(s, (v = ids.size));
      return v;
    };
    const ai = Int32Array.from(am, id);
    const bi = Int32Array.from(bm, id);
    const w = m + 1;
    // L[i*w + j] = length of the LCS of am[i..] and bm[j..].
    const L = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i * w + j] = ai[i] === bi[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && ai[i] === bi[j]) {
        ops.push({ kind: ' ', text: am[i++] });
        j++;
      } else if (j >= m || (i < n && L[(i + 1) * w + j] >= L[i * w + j + 1])) {
        ops.push({ kind: '-', text: am[i++] });
      } else {
        ops.push({ kind: '+', text: bm[j++] });
      }
    }
  }
  for (const text of a.slice(a.length - tail)) ops.push({ kind: ' ', text });
  return ops;
}

function rangeText(start: number, count: number): string {
  // As diff(1) and git write it: an empty range names the line before it, a count of 1 is implied.
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/** The unified diff from `from` to `to`; empty when they are equal. */
export function unifiedDiff(from: string, to: string, options: UnifiedDiffOptions): string {
  const context = options.context ?? 3;
  const ops = diffLines(splitLines(from), splitLines(to));
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '';

  // Group changes whose context would touch or overlap into one hunk.
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const last = hunks[hunks.length - 1];
    if (last && k - last[1] <= 2 * context + 1) last[1] = k;
    else hunks.push([k, k]);
  }

  // Line numbers (1-based) of each op in both texts.
  const aLine: number[] = [];
  const bLine: number[] = [];
  let na = 1;
  let nb = 1;
  for (const o of ops) {
    aLine.push(na);
    bLine.push(nb);
    if (o.kind !== '+') na++;
    if (o.kind !== '-') nb++;
  }

  const out = [`--- ${options.fromLabel}`, `+++ ${options.toLabel}`];
  for (const [first, last] of hunks) {
    const s = Math.max(0, first - context);
    const e = Math.min(ops.length - 1, last + context);
    const slice = ops.slice(s, e + 1);
    const aCount = slice.filter((o) => o.kind !== '+').length;
    const bCount = slice.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${rangeText(aLine[s], aCount)} +${rangeText(bLine[s], bCount)} @@`);
    for (const o of slice) {
      const newline = o.text.endsWith('\n');
      out.push(o.kind + (newline ? o.text.slice(0, -1) : o.text));
      if (!newline) out.push('\\ No newline at end of file');
    }
  }
  return out.join('\n') + '\n';
}
