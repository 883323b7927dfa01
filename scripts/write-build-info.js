#!/usr/bin/env node
// Records the commit and build date into dist/build-info.json for GET /api/v1/version.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
let commit = process.env.OPAMP_COMMANDER_COMMIT || 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
} catch {
  // building outside a git checkout (a container build): keep the given value
}
fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
fs.writeFileSync(path.join(root, 'dist', 'build-info.json'), JSON.stringify({ commit, buildDate: new Date().toISOString() }) + '\n');
