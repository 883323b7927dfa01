import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';

/**
 * The Quick start promises a Node.js and a Go version. A dependency that needs a newer Node, or a
 * Go module that needs a newer Go, makes that promise false on a fresh machine (npm ci's
 * EBADENGINE warnings, a failed FerretDB build), so both are checked against what is installed.
 */
const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const quickStart = /\(Node\.js ≥ ([\d.]+); Go ≥ ([\d.]+) for the local database\)/.exec(readme);

describe('the versions the README promises', () => {
  it('names a Node.js and a Go version in the Quick start', () => {
    expect(quickStart).not.toBeNull();
  });

  it('every installed package accepts the promised Node.js version', () => {
    const node = semver.coerce(quickStart![1])!.version;
    const refusing: string[] = [];
    const visit = (dir: string): void => {
      if (!fs.existsSync(dir)) return;
      for (const name of fs.readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        const pkgDir = path.join(dir, name);
        if (name.startsWith('@')) {
          visit(pkgDir);
          continue;
        }
        const manifest = path.join(pkgDir, 'package.json');
        if (!fs.existsSync(manifest)) continue;
        const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string; engines?: { node?: string } };
        const wants = pkg.engines?.node;
        if (wants && !semver.satisfies(node, wants)) refusing.push(`${pkg.name}@${pkg.version} needs node ${wants}`);
        visit(path.join(pkgDir, 'node_modules'));
      }
    };
    visit(path.join(root, 'node_modules'));
    expect(refusing).toEqual([]);
  });

  it('the package engines field says the same Node.js version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(semver.minVersion(pkg.engines.node)?.version).toBe(semver.coerce(quickStart![1])!.version);
  });

  it('the local database builds with the promised Go version', () => {
    const goMod = fs.readFileSync(path.join(root, 'scripts', 'ferretdb', 'go.mod'), 'utf8');
    const directive = /^go (\d+\.\d+(?:\.\d+)?)$/m.exec(goMod)![1];
    expect(semver.lte(semver.coerce(directive)!, semver.coerce(quickStart![2])!)).toBe(true);
  });
});
