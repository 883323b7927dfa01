import { ChildProcess, spawn } from 'node:child_process';
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
  return new Proc(spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js'), ...args], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}
