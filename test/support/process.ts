import { ChildProcess, execSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** A child process whose output is collected so a test can wait for a line. */
export class Proc {
  out = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first match of `re` in the output, or rejects when the process exits or time runs out. */
  waitFor(re: RegExp, timeoutMs = 120_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.out);
        if (m) {
          cleanup();
          resolve(m);
        }
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`process exited before ${re}; output:\n${this.out}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${re}; output:\n${this.out}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.child.stdout?.off('data', check);
        this.child.stderr?.off('data', check);
        this.child.off('exit', onExit);
      };
      this.child.stdout?.on('data', check);
      this.child.stderr?.on('data', check);
      this.child.once('exit', onExit);
      check();
    });
  }
}

/** Runs `npm start`'s entry (scripts/start.js) with the given environment. */
export function startServerProcess(env: Record<string, string>, args: string[] = []): Proc {
  const clean = { ...process.env };
  delete clean.MONGODB_URI;
  return new Proc(
    spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js'), ...args], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of fs.readdirSync(p)) if (e !== 'gen') t = Math.max(t, newestMtime(path.join(p, e)));
  return t;
}

/**
 * Builds the server as `npm start` (scripts/start.js) would when it is stale, for a spec that runs it with a PATH
 * on which npm cannot be found.
 */
export function ensureServerBuilt(): void {
  const entry = path.join(ROOT, 'dist', 'src', 'main.js');
  const buildInfo = path.join(ROOT, 'dist', 'build-info.json');
  const built = fs.existsSync(entry) && fs.existsSync(buildInfo) ? fs.statSync(buildInfo).mtimeMs : 0;
  const sources = Math.max(...['src', 'proto', path.join('web', 'src'), 'package.json'].map((p) => newestMtime(path.join(ROOT, p))));
  if (built < sources || !fs.existsSync(path.join(ROOT, 'dist', 'web', 'index.html'))) execSync('npm run build', { cwd: ROOT, stdio: 'ignore' });
}

/** Log lines at warn (40) or above, and anything printed that is not a log line (process warnings, stacks). */
export function troubleLines(out: string): string[] {
  return out
    .split('\n')
    .filter(Boolean)
    .filter((line) => {
      try {
        return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 40;
      } catch {
        return !line.startsWith('npm start: building');
      }
    });
}
