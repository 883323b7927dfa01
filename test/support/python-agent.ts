import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { Proc, ROOT } from './process';

export interface AgentEvent {
  event: string;
  [k: string]: unknown;
}

/** A third-party-client harness as a child process: flags in, JSON-line events on stdout, JSON commands on stdin. */
export class JsonLineAgent {
  readonly events: AgentEvent[] = [];
  private readonly proc: Proc;
  private buffer = '';

  constructor(
    private readonly label: string,
    command: string,
    args: string[],
  ) {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = new Proc(child);
    child.stdout!.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as AgentEvent);
        } catch {
          // not an event line
        }
      }
    });
  }

  get output(): string {
    return this.proc.out;
  }

  /** Resolves with the first event (at or after index `from`) that satisfies `pred`. */
  async waitFor(pred: (e: AgentEvent) => boolean, timeoutMs = 30_000, from = 0): Promise<AgentEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.label}: no matching event in ${timeoutMs} ms; events:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}\noutput:\n${this.proc.out.slice(-3000)}`,
        );
      }
      if (this.proc.child.exitCode !== null) throw new Error(`${this.label} exited (${this.proc.child.exitCode}); output:\n${this.proc.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  event(name: string, timeoutMs?: number, from?: number): Promise<AgentEvent> {
    return this.waitFor((e) => e.event === name, timeoutMs, from);
  }

  count(pred: (e: AgentEvent) => boolean, from = 0): number {
    return this.events.slice(from).filter(pred).length;
  }

  /** The instance uid, as the first request carried it. */
  async uid(timeoutMs?: number): Promise<string> {
    return (await this.event('sent', timeoutMs)).uid as string;
  }

  command(cmd: Record<string, unknown>): void {
    this.proc.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  async stop(): Promise<void> {
    if (this.proc.child.exitCode !== null) return;
    this.command({ cmd: 'stop' });
    const t = setTimeout(() => this.proc.child.kill('SIGKILL'), 15_000);
    await this.proc.exited;
    clearTimeout(t);
  }

  kill(): Promise<number | null> {
    if (this.proc.child.exitCode === null) this.proc.child.kill('SIGKILL');
    return this.proc.exited;
  }
}

let python: string | null | undefined;
let skipReason = '';

/**
 * The venv python with opentelemetry-opamp-client installed (scripts/install-python-opamp.sh,
 * once per run), or null when python3/venv is missing here (the reason is in pythonSkipReason()).
 */
export function pythonOpampInterpreter(): string | null {
  if (python !== undefined) return python;
  const script = path.join(ROOT, 'scripts', 'install-python-opamp.sh');
  try {
    const out = execFileSync('bash', [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 })
      .toString()
      .trim()
      .split('\n');
    python = out[out.length - 1];
  } catch (err) {
    const e = err as { status?: number; stderr?: Buffer; message: string };
    if (e.status === 3) {
      python = null;
      skipReason = (e.stderr?.toString() ?? '').trim() || 'no python3 with venv';
      return python;
    }
    throw new Error(`Installing the Python OpAMP client failed: ${e.stderr?.toString() ?? e.message}`);
  }
  return python;
}

export function pythonSkipReason(): string {
  return skipReason;
}

/** Starts the Python interop agent (test/interop/python-agent/agent.py) against `url`. */
export function startPythonAgent(url: string, extra: string[] = []): JsonLineAgent {
  const py = pythonOpampInterpreter();
  if (!py) throw new Error(`python interop agent unavailable: ${skipReason}`);
  return new JsonLineAgent('python-agent', py, ['-u', path.join(ROOT, 'test', 'interop', 'python-agent', 'agent.py'), '--url', url, ...extra]);
}
