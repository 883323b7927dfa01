#!/usr/bin/env node
// Generates the one protobuf type system (src/gen) from proto/ with buf and protoc-gen-es,
// both installed from npm, so a clean clone needs nothing else. Skips the work when the
// generated files are newer than every .proto file.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const protoDir = path.join(root, 'proto');
const outDir = path.join(root, 'src', 'gen');
const stamp = path.join(outDir, '.stamp');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

const inputs = Math.max(newestMtime(protoDir), fs.statSync(path.join(root, 'buf.gen.yaml')).mtimeMs);
if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= inputs && !process.argv.includes('--force')) {
  process.exit(0);
}
const bin = path.join(root, 'node_modules', '.bin');
execFileSync(path.join(bin, 'buf'), ['generate'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
});
fs.writeFileSync(stamp, new Date().toISOString() + '\n');
console.error('gen:proto: generated src/gen from proto/');
