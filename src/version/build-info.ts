import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { projectRoot } from '../common/project-paths';

export interface BuildInfo {
  version: string;
  commit: string;
  buildDate: string;
}

let cached: BuildInfo | undefined;

/**
 * What was built: version from package.json, commit and date from dist/build-info.json written
 * by the build (scripts/write-build-info.js), else asked of git when running from sources.
 */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const root = projectRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  let commit = process.env.OPAMP_COMMANDER_COMMIT ?? 'unknown';
  let buildDate = 'unknown';
  try {
    const written = JSON.parse(fs.readFileSync(path.join(root, 'dist', 'build-info.json'), 'utf8')) as Partial<BuildInfo>;
    commit = written.commit ?? commit;
    buildDate = written.buildDate ?? buildDate;
  } catch {
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      // not a git checkout: stays unknown
    }
  }
  cached = { version: pkg.version, commit, buildDate };
  return cached;
}
