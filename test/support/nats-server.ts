import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { freePort } from '../../src/common/free-port';
import { Proc, ROOT } from './process';

/** The nats-server binary (Debian's package, installed by scripts/install-nats.sh), or undefined. */
export function natsServerBinary(): string | undefined {
  for (const p of [process.env.NATS_SERVER_BIN, '/usr/bin/nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server']) {
    if (p && fs.existsSync(p)) return p;
  }
  return undefined;
}

/** A real NATS server on a loopback port, which a test (or a bench scenario) can stop and start again on the same port. */
export class NatsServer {
  private proc?: Proc;

  private constructor(
    private readonly bin: string,
    readonly port: number,
  ) {}

  static async start(): Promise<NatsServer> {
    let bin = natsServerBinary();
    if (!bin) {
      // `npm test` sets up what it needs: the project's script installs Debian's package where missing.
      try {
        execFileSync('bash', [`${ROOT}/scripts/install-nats.sh`], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
      } catch (err) {
        throw new Error(`nats-server is not installed and scripts/install-nats.sh failed (it needs apt-get and root): ${(err as Error).message}`);
      }
      bin = natsServerBinary();
      if (!bin) throw new Error('scripts/install-nats.sh ran but no nats-server binary is found');
    }
    const s = new NatsServer(bin, await freePort());
    await s.resume();
    return s;
  }

  /** The running server's process id (the replicas bench samples its CPU). */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on its port and waits until it accepts connections. */
  async resume(): Promise<void> {
    this.proc = new Proc(spawn(this.bin, ['-a', '127.0.0.1', '-p', String(this.port)], { stdio: ['ignore', 'pipe', 'pipe'] }));
    for (let i = 0; i < 100; i++) {
      if (await accepts(this.port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nats-server did not listen on ${this.port}: ${this.proc.out}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p) return;
    p.child.kill('SIGKILL');
    await p.exited;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
