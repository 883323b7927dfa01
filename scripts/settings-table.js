#!/usr/bin/env node
// Prints the README's settings table from src/config/config.schema.ts (after a build), so the
// documentation is generated from the one declaration of every setting.
'use strict';
const path = require('node:path');
const { SETTINGS } = require(path.join(__dirname, '..', 'dist', 'src', 'config', 'config.schema.js'));
const rows = ['| Variable | Default | Meaning |', '|---|---|---|'];
for (const [key, spec] of Object.entries(SETTINGS)) {
  const def = spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0) ? '—' : `\`${spec.default}\``;
  rows.push(`| \`${key}\`${spec.secret ? ' (secret)' : ''} | ${def} | ${spec.description} |`);
}
console.log(rows.join('\n'));
