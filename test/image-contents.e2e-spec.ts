import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/**
 * The production build and image hold what the server needs: the bench (its load generator and
 * in-memory database stand-in) is tooling, built on its own by `npm run bench`.
 */
describe('what the server build and image contain', () => {
  it('the server build compiles no bench file, and the bench build does', () => {
    const files = (project: string) =>
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project, '--listFilesOnly'], { cwd: ROOT, encoding: 'utf8' })
        .split('\n')
        .map((f) => path.relative(ROOT, f.trim()))
        .filter((f) => f && !f.startsWith('..') && !f.startsWith('node_modules'));
    const server = files('tsconfig.build.json');
    expect(server).toContain(path.join('src', 'main.ts'));
    expect(server.filter((f) => f.startsWith(`bench${path.sep}`))).toEqual([]);
    expect(files('tsconfig.bench.json')).toContain(path.join('bench', 'mini-mongo.ts'));
  }, 120_000);

  it('the image build context leaves the bench out', () => {
    const ignored = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['bench', 'test']));
  });

  it('a bench run writes its rows under bench/results/ (git-ignored), never the tracked bench/RESULTS.md', () => {
    const cli = fs.readFileSync(path.join(ROOT, 'bench', 'cli.ts'), 'utf8');
    expect(cli).toContain("path.join(resultsDir, 'RESULTS.md')");
    expect(cli).not.toMatch(/path\.join\(ROOT, 'bench', 'RESULTS\.md'\)/);
    expect(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n')).toContain('bench/results/');
  });
});
