import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './process';

/** The built opampctl (dist/src/cli/main.js), run as a child process as a user runs it. */
export const OPAMPCTL = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** Builds the CLI on its own (it imports nothing of the server); tsc's incremental build makes a rebuild quick. */
export function buildOpampctl(): void {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'src', 'cli', 'tsconfig.cli.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export interface OpampctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs opampctl with `env` on top of a clean environment (no OPAMPCTL_* or COLUMNS of the caller's). */
export function runOpampctl(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<OpampctlRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OPAMPCTL_') && k !== 'COLUMNS' && v !== undefined) env[k] = v;
  Object.assign(env, { NO_COLOR: '1' }, opts.env ?? {});
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OPAMPCTL, ...args], { env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
