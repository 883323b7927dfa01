import * as fs from 'node:fs';
import * as path from 'node:path';

/** The folder holding this project's package.json, found upward from the running code. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'proto'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Project-local cache of built tools (FerretDB, interop clients); never committed. */
export function cacheDir(...parts: string[]): string {
  return path.join(process.env.OPAMP_COMMANDER_CACHE_DIR || path.join(projectRoot(), '.cache'), ...parts);
}
