import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { Proc, ROOT } from './process';

let built: string | undefined;

/** Builds (once per run; cached across runs) the opamp-go interop agent and returns its path. */
export function goAgentBinary(): string {
  if (built) return built;
  const script = path.join(ROOT, 'test', 'interop', 'go-agent', 'build.sh');
  try {
    const out = execFileSync('bash', [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 })
      .toString()
      .trim()
      .split('\n');
    built = out[out.length - 1];
  } catch (err) {
    const status = (err as { status?: number }).status;
    throw new Error(
      status === 3
        ? 'The opamp-go interop agent needs the Go toolchain (`go`), which is not on PATH: install Go to run the interop tests.'
        : `Building the opamp-go interop agent failed: ${(err as Error).message}`,
    );
  }
  return built;
}

export interface GoAgentEvent {
  event: string;
  [k: string]: unknown;
}

/** The opamp-go interop agent as a child process: flags in, JSON-line events out, commands on stdin. */
export class GoAgent {
  readonly events: GoAgentEvent[] = [];
  private readonly proc: Proc;
  private buffer = '';

  constructor(args: string[]) {
    const child = spawn(goAgentBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = new Proc(child);
    child.stdout!.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as GoAgentEvent);
        } catch {
          // not an event line
        }
      }
    });
  }

  static start(url: string, extra: string[] = []): GoAgent {
    return new GoAgent(['--url', url, ...extra]);
  }

  get exited(): Promise<number | null> {
    return this.proc.exited;
  }

  get stderr(): string {
    return this.proc.out;
  }

  /** Resolves with the first event (at or after index `from`) that satisfies `pred`. */
  async waitFor(pred: (e: GoAgentEvent) => boolean, timeoutMs = 30_000, from = 0): Promise<GoAgentEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(
          `go-agent: no matching event in ${timeoutMs} ms; events:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${this.proc.out.slice(-3000)}`,
        );
      }
      if (this.proc.child.exitCode !== null) throw new Error(`go-agent exited (${this.proc.child.exitCode}); stderr:\n${this.proc.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  event(name: string, timeoutMs?: number, from?: number): Promise<GoAgentEvent> {
    return this.waitFor((e) => e.event === name, timeoutMs, from);
  }

  count(pred: (e: GoAgentEvent) => boolean): number {
    return this.events.filter(pred).length;
  }

  command(cmd: Record<string, unknown>): void {
    this.proc.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  async stats(): Promise<{ sent: number; received: number }> {
    const from = this.events.length;
    this.command({ cmd: 'stats' });
    return (await this.event('stats', 10_000, from)) as unknown as { sent: number; received: number };
  }

  async stop(): Promise<void> {
    if (this.proc.child.exitCode !== null) return;
    this.command({ cmd: 'stop' });
    const t = setTimeout(() => this.proc.child.kill('SIGKILL'), 15_000);
    await this.proc.exited;
    clearTimeout(t);
  }

  kill(): Promise<number | null> {
    this.proc.child.kill('SIGKILL');
    return this.proc.exited;
  }
}
