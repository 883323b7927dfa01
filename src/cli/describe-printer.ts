import { formatAge } from './human-time';
import { isObject } from './resource-fields';

/** `describe`: a resource as indented `Key: value` lines, kubectl style, with times shown with their age. */

/** Maps whose keys are data (label keys, attribute names, file names), printed as they are. */
const DATA_MAPS = new Set([
  'labels',
  'identifyingAttributes',
  'nonIdentifyingAttributes',
  'attributes',
  'configMap',
  'headers',
  'connectHeaders',
  'matchLabels',
  'components',
  'annotations',
]);

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** `remoteConfigStatus` → `Remote Config Status`. */
export function titleCase(key: string): string {
  if (!/^[a-z][A-Za-z0-9]*$/.test(key)) return key;
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/^./, (c) => c.toUpperCase());
}

function scalar(v: unknown, now: number): string {
  if (v === null || v === undefined) return '<none>';
  if (v === '') return '""';
  if (typeof v === 'string' && ISO_TIME.test(v)) return `${v} (${formatAge(v, now)} ago)`;
  if (typeof v === 'string') return JSON.stringify(v) === `"${v}"` && v.trim() === v ? v : JSON.stringify(v);
  return String(v);
}

const isEmpty = (v: unknown) => v === undefined || (Array.isArray(v) && !v.length) || (isObject(v) && !Object.keys(v).some((k) => v[k] !== undefined));

/** Lines for one value under a key at an indent. */
function render(key: string, value: unknown, indent: number, keyWidth: number, raw: boolean, now: number, out: string[]): void {
  const pad = '  '.repeat(indent);
  const label = `${key === '' ? '""' : raw ? key : titleCase(key)}:`;
  if (typeof value === 'string' && value.includes('\n')) {
    out.push(`${pad}${label}`);
    for (const line of value.replace(/\n$/, '').split('\n')) out.push(`${pad}  ${line}`.replace(/\s+$/, ''));
    return;
  }
  if (Array.isArray(value) && value.length) {
    out.push(`${pad}${label}`);
    for (const item of value) {
      if (isObject(item)) {
        const lines: string[] = [];
        renderObject(item, indent + 2, false, now, lines);
        // The first line of each item carries the list dash.
        lines[0] = `${pad}  - ${lines[0].trimStart()}`;
        out.push(...lines);
      } else out.push(`${pad}  - ${scalar(item, now)}`);
    }
    return;
  }
  if (isObject(value) && !isEmpty(value)) {
    out.push(`${pad}${label}`);
    renderObject(value, indent + 1, DATA_MAPS.has(key), now, out);
    return;
  }
  out.push(`${pad}${label.padEnd(keyWidth + 1)} ${isEmpty(value) ? '<none>' : scalar(value, now)}`.replace(/\s+$/, ''));
}

function renderObject(obj: Record<string, unknown>, indent: number, raw: boolean, now: number, out: string[]): void {
  const entries = Object.entries(obj).filter(([, v]) => v !== undefined);
  const keyWidth = Math.max(0, ...entries.filter(([, v]) => !isObject(v) && !Array.isArray(v)).map(([k]) => (raw ? k : titleCase(k)).length));
  for (const [k, v] of entries) render(k, v, indent, keyWidth, raw, now, out);
}

/** A resource and any extra sections (their keys are used as titles) as describe text. */
export function describeText(resource: Record<string, unknown>, extra: Record<string, unknown> = {}, now = Date.now()): string {
  const md = isObject(resource.metadata) ? resource.metadata : {};
  const head: Record<string, unknown> = { name: md.name, kind: resource.kind };
  const rest: Record<string, unknown> = { ...md };
  delete rest.name;
  const out: string[] = [];
  renderObject({ ...head, ...rest }, 0, false, now, out);
  for (const part of ['spec', 'status'] as const) {
    const v = resource[part];
    if (v === undefined || isEmpty(v)) continue;
    render(part, v, 0, 0, false, now, out);
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) continue;
    if (typeof v === 'string' && !v.includes('\n')) out.push(`${k}: ${v}`);
    else if (typeof v === 'string') {
      out.push(`${k}:`);
      for (const line of v.replace(/\n$/, '').split('\n')) out.push(`  ${line}`.replace(/\s+$/, ''));
    } else render(k, v, 0, 0, true, now, out);
  }
  return `${out.join('\n')}\n`;
}

/** The Telemetry section of `describe agent`: current rates from GET /agents/{id}/telemetry, as one text block. */
export function telemetryText(status: Record<string, unknown> | undefined, now = Date.now()): string {
  if (!status || status.held !== true) return '<no own metrics received (or held by another replica)>';
  const c = isObject(status.current) ? status.current : {};
  const n = (v: unknown) => (typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : '<none>');
  const rate = (v: unknown) => (typeof v === 'number' ? `${n(v)} items/s` : '<none>');
  const mib = (v: unknown) => (typeof v === 'number' ? `${(v / 1024 / 1024).toFixed(1)} MiB` : '<none>');
  const ratio = typeof c.exportFailureRatio === 'number' ? ` (${(c.exportFailureRatio * 100).toFixed(1)}% of sends)` : '';
  const rows: [string, string][] = [
    ['Last Received', scalar(status.lastReceivedAt, now)],
    ['Accepted', rate(c.acceptedPerSecond)],
    ['Refused', rate(c.refusedPerSecond)],
    ['Sent', rate(c.sentPerSecond)],
    ['Send Failed', `${rate(c.sendFailedPerSecond)}${ratio}`],
    ['Queue', c.queueSize === null && c.queueCapacity === null ? '<none>' : `${n(c.queueSize)} / ${n(c.queueCapacity)}`],
    ['CPU', typeof c.cpuSecondsPerSecond === 'number' ? `${n(c.cpuSecondsPerSecond)} s/s` : '<none>'],
    ['RSS', mib(c.rssBytes)],
    ['Uptime', typeof c.uptimeSeconds === 'number' ? `${Math.round(c.uptimeSeconds)} s` : '<none>'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n');
}

/**
 * The Packages section of `describe agent`, from the agent's `status.packages`: one row per
 * package it reports (version, status with download progress or the install error, the version
 * offered), then where the server's offer stands and what the forward-only policy refused.
 */
export function packagesText(packages: unknown): string {
  if (!isObject(packages)) return '<none reported, none offered>';
  const installed = Array.isArray(packages.installed) ? packages.installed.filter(isObject) : [];
  const lines: string[] = [];
  if (installed.length) {
    const rows = installed.map((p) => {
      const pct = typeof p.downloadPercent === 'number' ? ` ${Math.round(p.downloadPercent)}%` : '';
      const detail = p.status === 'INSTALL_FAILED' ? String(p.errorMessage ?? '') : '';
      return [String(p.name ?? ''), String(p.version ?? '<none>'), `${String(p.status ?? '')}${pct}`, String(p.offeredVersion ?? '-'), detail];
    });
    const head = ['NAME', 'VERSION', 'STATUS', 'OFFERED', 'ERROR'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows])
      lines.push(
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .replace(/\s+$/, ''),
      );
  } else lines.push('<no package statuses reported>');
  const offer = isObject(packages.offer) ? packages.offer : undefined;
  if (offer) {
    const from = offer.origin ? ` (from ${String(offer.origin)})` : '';
    lines.push(`Offer: ${String(offer.state)}${from}${offer.desiredHash ? `, hash ${String(offer.desiredHash).slice(0, 12)}` : ''}`);
    if (offer.error) lines.push(`  Error: ${String(offer.error)}`);
    for (const r of Array.isArray(offer.refused) ? offer.refused.filter(isObject) : [])
      lines.push(`  Not offered: ${String(r.name)} ${String(r.version)}: ${String(r.reason)}`);
  }
  return lines.join('\n');
}
