#!/usr/bin/env node
// `npm start`: builds when the compiled server is missing or older than its sources, then runs
// it in this same process so that signals reach the server directly.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'dist', 'src', 'main.js');

function newest(dir) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'gen') continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

// Build time is when dist/build-info.json was written: an incremental tsc leaves unchanged outputs
// (main.js among them) with their old times.
const buildInfo = path.join(root, 'dist', 'build-info.json');
const built = fs.existsSync(entry) && fs.existsSync(buildInfo) ? fs.statSync(buildInfo).mtimeMs : 0;
const sources = Math.max(
  newest(path.join(root, 'src')),
  newest(path.join(root, 'proto')),
  newest(path.join(root, 'web', 'src')),
  fs.statSync(path.join(root, 'package.json')).mtimeMs,
);
// The web UI is built with the server (npm run build); a missing one is built too.
const webBuilt = fs.existsSync(path.join(root, 'dist', 'web', 'index.html'));
if (built < sources || !webBuilt) {
  console.error('npm start: building (sources changed since the last build)...');
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
require(entry);
