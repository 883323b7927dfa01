import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { anchorsOf, brokenLinks, slug } from './support/markdown-links';
import { ROOT } from './support/process';
import { SETTINGS } from '../src/config/config.schema';

/**
 * The README is a front page and the manual lives in docs/: a reader follows links between them,
 * so every relative link must lead somewhere (a file, and a heading when it names one), and the
 * configuration page must say what the settings schema says.
 */

/** README.md and every Markdown page under docs/. */
function pages(): string[] {
  const docs = path.join(ROOT, 'docs');
  const found = (fs.readdirSync(docs, { recursive: true }) as string[]).filter((f) => f.endsWith('.md')).sort();
  return [path.join(ROOT, 'README.md'), ...found.map((f) => path.join(docs, f))];
}

describe('links of the README and docs/', () => {
  it('every relative link resolves to a file, and every #fragment to a heading of it (also in the documents the README links)', () => {
    const files = pages();
    expect(files.length).toBeGreaterThanOrEqual(10);
    // The other documents the README links are checked too (their own links).
    const others = ['helm/opamp-commander/README.md', 'bench/README.md', 'test/interop/go-agent/README.md'].map((f) => path.join(ROOT, f));
    expect(brokenLinks([...files, ...others], ROOT)).toEqual([]);
  });

  it('the README links every page of docs/', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const missing = pages()
      .slice(1)
      .map((f) => path.relative(ROOT, f))
      .filter((f) => !readme.includes(`](${f})`) && !readme.includes(`](${f}#`));
    expect(missing).toEqual([]);
  });

  it('the checker finds a missing file and a missing heading (so a broken link cannot pass)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doc-links-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'a.md'),
        "# A page\n\n## Second `part`: here\n\nSee [b](b.md), [c](c.md), [part](#second-part-here), [gone](#gone), [b's top](b.md#b), [b's tail](b.md#nowhere), [site](https://example.com/x.md).\n\n```sh\n[not a link](missing.md)\n```\n",
      );
      fs.writeFileSync(path.join(dir, 'b.md'), '# B\n');
      const problems = brokenLinks([path.join(dir, 'a.md')], dir);
      expect(problems).toEqual(['a.md: c.md (no such file)', 'a.md: #gone (no heading #gone)', 'a.md: b.md#nowhere (no heading #nowhere)']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes anchors as GitHub does (punctuation dropped, repeats numbered)', () => {
    expect(slug('OpAMP over gRPC')).toBe('opamp-over-grpc');
    expect(slug('Interop: a real OpenTelemetry Collector')).toBe('interop-a-real-opentelemetry-collector');
    expect(slug('`opampctl` and the `--watch` flag')).toBe('opampctl-and-the---watch-flag');
    expect([...anchorsOf('# Notes\n## Notes\n## Notes\n')]).toEqual(['notes', 'notes-1', 'notes-2']);
  });
});

describe('docs/configuration.md', () => {
  const check = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'settings-table.js'), '--check', ...args], { cwd: ROOT, encoding: 'utf8' });

  it('is what scripts/settings-table.js generates from src/config/config.schema.ts', () => {
    const r = check();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('names every setting of the schema', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const keys = Object.keys(SETTINGS);
    expect(keys.length).toBeGreaterThan(40);
    for (const key of keys) expect(doc).toContain(`| \`${key}\``);
  });

  it('fails the check when the page is stale', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-doc-'));
    try {
      const stale = path.join(dir, 'configuration.md');
      fs.writeFileSync(
        stale,
        fs.readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8').replace('| `API_PORT` | `8080` |', '| `API_PORT` | `8081` |'),
      );
      const r = check('--doc', stale);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/is stale: run `node scripts\/settings-table\.js`/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
