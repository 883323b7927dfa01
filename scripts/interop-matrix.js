#!/usr/bin/env node
// Prints the interop matrix (client × transport × scenario) from the results the interop specs
// write into <cache>/interop-results/*.json (test/support/interop-results.ts).
// Usage: node scripts/interop-matrix.js [--markdown] [--clear]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dir = process.env.INTEROP_RESULTS_DIR || path.join(process.env.OPAMP_COMMANDER_CACHE_DIR || path.join(root, '.cache'), 'interop-results');
const args = new Set(process.argv.slice(2));

if (args.has('--clear')) {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const files = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];
if (files.length === 0) {
  console.log(`interop matrix: no results in ${dir} (no interop spec ran)`);
  process.exit(0);
}

// Several specs may write rows for one client (one file each): one row per client and transport,
// where a failure in any file stays the cell's result.
const docs = [];
for (const d of files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))) {
  const same = docs.find((x) => x.client === d.client && x.version === d.version);
  if (!same) {
    docs.push({ ...d, rows: [...d.rows] });
    continue;
  }
  for (const r of d.rows) {
    const i = same.rows.findIndex((x) => x.transport === r.transport && x.scenario === r.scenario);
    if (i < 0) same.rows.push(r);
    else if (r.result === 'fail') same.rows[i] = r;
  }
}
// The usual order; scenarios not listed here follow in the order they were first recorded.
const ORDER = [
  'discovery',
  'status',
  'heartbeats',
  'config apply',
  'failure',
  'rollback',
  'failure at run time',
  'connection settings',
  'disconnect',
  'retry (503)',
  'restart (state lost)',
  'restart command',
  'reconnect',
  'new instance uid',
];
const seen = new Set(docs.flatMap((d) => d.rows.map((r) => r.scenario)));
const scenarios = [...ORDER.filter((s) => seen.has(s)), ...[...seen].filter((s) => !ORDER.includes(s))];

const mark = { pass: 'pass', fail: 'FAIL', skip: 'skip' };
const header = ['client', 'transport', ...scenarios];
const lines = [];
const notes = [];
for (const d of docs) {
  const transports = [...new Set(d.rows.map((r) => r.transport))];
  for (const t of transports) {
    const cells = scenarios.map((s) => {
      const r = d.rows.find((x) => x.transport === t && x.scenario === s);
      if (!r) return '—';
      if (!r.note) return mark[r.result] ?? r.result;
      notes.push(`[${notes.length + 1}] ${d.client.split(' ')[0]} ${t} ${s}: ${r.note}`);
      return `${mark[r.result] ?? r.result} [${notes.length}]`;
    });
    lines.push([`${d.client} ${d.version}`, t, ...cells]);
  }
}

const md = args.has('--markdown');
if (md) {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
} else {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const row = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  console.log('== interop matrix (pass = the spec of what the client really does passed; [n] = a note below; — = not run)');
  console.log(row(header));
  console.log(row(widths.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(row(l));
}
if (md) console.log('');
for (const n of notes) console.log(md ? `- ${n}` : `  ${n}`);
const failed = docs.flatMap((d) => d.rows).filter((r) => r.result === 'fail').length;
if (!md) console.log(`interop matrix: ${docs.flatMap((d) => d.rows).length} scenarios, ${failed} failed`);
