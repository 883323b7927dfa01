#!/usr/bin/env node
// `npm run bench -- ARGS`: builds when the compiled bench or server is missing or older than its
// sources (the server with `npm run build`, the bench with tsconfig.bench.json: the bench is not
// part of the server's build or image), then runs the bench CLI (dist/bench/cli.js) with ARGS.
// See bench/README.md.
'use strict';
const { execSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist', 'bench', 'cli.js');
const server = path.join(root, 'dist', 'src', 'main.js');

function newest(dir) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'gen' || e.name === 'results') continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : /\.(ts|tsx|proto|css|html)$/.test(e.name) ? fs.statSync(p).mtimeMs : 0);
  }
  return t;
}

const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0);
const built = Math.min(mtime(cli), mtime(server));
const sources = Math.max(
  newest(path.join(root, 'src')),
  newest(path.join(root, 'bench')),
  newest(path.join(root, 'proto')),
  // The web UI (the ui scenario drives the built one; `npm run build` builds it too).
  newest(path.join(root, 'web', 'src')),
  mtime(path.join(root, 'package.json')),
);
const args = process.argv.slice(2);
if (built < sources && !(args.includes('--help') && fs.existsSync(cli))) {
  console.error('bench: building (sources changed since the last build)...');
  try {
    execSync('npm run build', { cwd: root, stdio: 'inherit' });
    execSync(`"${process.execPath}" "${require.resolve('typescript/bin/tsc')}" -p tsconfig.bench.json`, { cwd: root, stdio: 'inherit' });
  } catch {
    // tsc still emits when another part of the tree has a type error; run if the outputs are there.
    if (!fs.existsSync(cli) || !fs.existsSync(server)) process.exit(1);
    console.error('bench: the build reported errors; running the compiled output anyway');
  }
}
const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
