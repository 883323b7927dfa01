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
