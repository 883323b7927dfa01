import * as fs from 'node:fs';

export const mib = (bytes: number | undefined) =>
  bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
export const kib = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : `${(bytes / 1024).toFixed(1)} KiB`);
export const ms = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v)
    ? 'n/a'
    : v >= 10_000
      ? `${(v / 1000).toFixed(1)} s`
      : v >= 100
        ? `${v.toFixed(0)} ms`
        : v >= 10
          ? `${v.toFixed(1)} ms`
          : `${v.toFixed(2)} ms`;
export const secs = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(1)} s`);
export const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(0)} %`);
export const num = (v: number | undefined, digits = 0) =>
  v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits });
export const ratio = (ours: number | undefined, base: number | undefined) =>
  ours === undefined || base === undefined || !Number.isFinite(ours) || !Number.isFinite(base) || base === 0
    ? 'n/a'
    : `×${(ours / base).toFixed(ours / base >= 10 ? 0 : 1)}`;

/** Prints a two-column table (figure, value) to stdout. */
export function printTable(title: string, rows: [string, string][]): void {
  const w = Math.max(...rows.map(([k]) => k.length), 6);
  const v = Math.max(...rows.map(([, x]) => x.length), 5);
  const line = `+-${'-'.repeat(w)}-+-${'-'.repeat(v)}-+`;
  process.stdout.write(`\n${title}\n${line}\n`);
  for (const [k, x] of rows) process.stdout.write(`| ${k.padEnd(w)} | ${x.padEnd(v)} |\n`);
  process.stdout.write(`${line}\n`);
}

export interface ResultsSection {
  id: string;
  title: string;
  /** One line under the title saying what the columns mean. */
  about: string;
  columns: string[];
}

const HEADER = `# Benchmark results

Measured by the load generator in \`bench/\` (see \`bench/README.md\`): each row is the latest run of one
configuration, written by \`npm run bench\`. The generator and the server share the machine, so every figure is
a lower bound of what the server does alone. Server figures come from \`/proc/<pid>\` of the server process
(and of its database process, shown separately); answer latency is measured by the simulated agents, from
sending a message to receiving its answer. Full JSON of each run is in \`bench/results/\` (not committed).
`;

function esc(cell: string): string {
  return cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * Puts `cells` in the row whose first cell is `key` in the section's table (added when
 * missing), between markers, leaving everything outside the markers as it was.
 */
export function upsertResultsRow(file: string, section: ResultsSection, key: string, cells: string[], machine: string, date: string): void {
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : HEADER;
  const begin = `<!-- bench:begin ${section.id} -->`;
  const end = `<!-- bench:end ${section.id} -->`;
  let rows: string[][] = [];
  let bi = text.indexOf(begin);
  let ei = text.indexOf(end);
  if (bi >= 0 && ei > bi) {
    const body = text.slice(bi + begin.length, ei);
    const lines = body.split('\n').filter((l) => l.startsWith('|'));
    rows = lines
      .slice(2)
      .map((l) =>
        l
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => c.trim()),
      )
      .filter((r) => r.length > 1);
  } else {
    text = `${text.trimEnd()}\n\n${begin}\n${end}\n`;
    bi = text.indexOf(begin);
    ei = text.indexOf(end);
  }
  const row = [key, ...cells].map(esc);
  const i = rows.findIndex((r) => r[0] === esc(key));
  if (i >= 0) rows[i] = row;
  else rows.push(row);
  const table = [
    `## ${section.title}`,
    '',
    section.about,
    '',
    `Machine of the latest run: ${machine}; ${date}.`,
    '',
    `| ${section.columns.join(' | ')} |`,
    `|${section.columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  text = `${text.slice(0, bi + begin.length)}\n${table}\n${text.slice(ei)}`;
  fs.writeFileSync(file, text);
}
