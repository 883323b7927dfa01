/** Small presentation helpers shared by the pages. */

export function attr(a: Record<string, unknown> | undefined, key: string): string {
  const v = a?.[key];
  return v === undefined || v === null ? '' : String(v);
}

/** A timestamp in the reader's locale, with the exact value on hover. */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function healthWord(healthy: boolean | undefined): string {
  return healthy === undefined ? 'unknown' : healthy ? 'healthy' : 'unhealthy';
}

/** Where a config comes from, in words: `group/NAME`, `agent` (its own), or the text the API gave. */
export function originText(origin: unknown): string {
  if (origin === undefined || origin === null) return '—';
  if (typeof origin === 'string') return origin;
  const o = origin as { kind?: string; group?: string };
  if (o.kind === 'group' && o.group) return `group/${o.group}`;
  if (o.kind === 'agent') return "agent's own config";
  return o.kind ?? JSON.stringify(origin);
}

/** A size in bytes in words: 512 B, 1.5 KB, 20.0 MB (powers of 1024). */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The first 12 hex digits of a hash (the whole one is in a title). */
export function shortHash(h: string | undefined): string {
  return h ? h.slice(0, 12) : '—';
}

/** Newest first: versions compared part by part, numbers as numbers (1.10.0 after 1.9.0); a pre-release below its release. */
export function newestFirst(a: string, b: string): number {
  const split = (v: string) => {
    const [main, pre] = v.replace(/^v/, '').split('+')[0].split(/-(.*)/s);
    return { main: main.split('.'), pre };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.main.length, y.main.length); i++) {
    const p = x.main[i] ?? '';
    const q = y.main[i] ?? '';
    const d = /^\d+$/.test(p) && /^\d+$/.test(q) ? Number(q) - Number(p) : q.localeCompare(p);
    if (d) return d;
  }
  if (x.pre === undefined || y.pre === undefined) return (x.pre === undefined ? 0 : 1) - (y.pre === undefined ? 0 : 1);
  return y.pre.localeCompare(x.pre, undefined, { numeric: true });
}
