import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { freePort } from '../src/common/free-port';

/** A nats-server child on a loopback port, for the scenarios that run several replicas. */
export interface NatsHandle {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The nats-server binary: NATS_SERVER_BIN, else Debian's package (scripts/install-nats.sh installs
 * it; the test setup looks in the same places), else undefined.
 */
export function natsServerBinary(): string | undefined {
  for (const p of [process.env.NATS_SERVER_BIN, '/usr/bin/nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server']) {
    if (p && fs.existsSync(p)) return p;
  }
  return undefined;
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

/** Starts nats-server on a free loopback port and waits until it accepts connections (10 s at most). */
export async function startNats(bin: string): Promise<NatsHandle> {
  const port = await freePort();
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  for (let i = 0; i < 100; i++) {
    if (await accepts(port)) return { url: `nats://127.0.0.1:${port}`, pid: child.pid!, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`nats-server did not listen on ${port}: ${err}`);
}
