// Runs only the structure rules of the project's eslint.config.mjs (the layering zones of
// import-x/no-restricted-paths, and one mechanism for timers and in-process events) and prints their
// findings as JSON: { planted: [[message, …] per planted file], src: [{ file, line, message }] }.
// Standard input may hold planted files, [{ "filePath": "src/agents/x.ts", "code": "…" }], linted as if
// they were at those paths without being written (src/layering.spec.ts plants violations this way).
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-globals', 'no-restricted-imports']);
const eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => RULES.has(ruleId) });

const input = process.stdin.isTTY ? '' : readFileSync(0, 'utf8').trim();
const plantedFiles = input ? JSON.parse(input) : [];
const planted = [];
for (const { filePath, code } of plantedFiles) {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, filePath) });
  planted.push(result.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`));
}
const src = (await eslint.lintFiles(['src'])).flatMap((r) =>
  r.messages.map((m) => ({ file: relative(root, r.filePath), line: m.line, message: `${m.ruleId ?? 'fatal'}: ${m.message}` })),
);
process.stdout.write(JSON.stringify({ planted, src }));
