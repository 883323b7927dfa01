#!/usr/bin/env node
// Adds up the Jest summaries ("Tests:  1 failed, 2 skipped, 40 passed, 43 total") that .ci/run's test tiers
// printed into one log, and prints one plain closing line for the whole run: "tests: N passed, N failed, N skipped".
// CI's reader of closing lines knows no Jest; without this line it could take another tool's framing for a run
// that executed nothing.
'use strict';
const fs = require('fs');

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/ci-tally.js LOG');
  process.exit(2);
}
const totals = { passed: 0, failed: 0, skipped: 0 };
let runs = 0;
for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
  // Jest may colour the line; strip ANSI escapes before reading it.
  const m = /^Tests:\s+(.*\btotal)\s*$/.exec(line.replace(new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g'), ''));
  if (!m) continue;
  runs += 1;
  for (const part of m[1].split(',')) {
    const p = /^\s*(\d+) (passed|failed|skipped|todo)\s*$/.exec(part);
    if (p && p[2] !== 'todo') totals[p[2]] += Number(p[1]);
  }
}
if (runs === 0) {
  console.error('ci-tally: no Jest summary in ' + file + ': no test ran');
  process.exit(1);
}
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || totals.passed === 0 ? 1 : 0);
