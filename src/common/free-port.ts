import * as net from 'node:net';

/**
 * Ports are picked below Linux's default ephemeral range (32768–60999). The kernel hands ports of
 * that range to every `listen(0)` and every outgoing connection, so a port found free there can be
 * taken by any other process a moment later, which is what made a server restarting on "its" port
 * fail with EADDRINUSE while other test runs shared the machine. Below the range a port is only
 * ever taken by someone who asks for it by number.
 */
const LOW = 20_000;
const HIGH = 32_000;

function tryBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A loopback TCP port that was free a moment ago (for child processes and tests to bind). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await tryBind(port)) return port;
  }
  throw new Error(`no free loopback port between ${LOW} and ${HIGH} after 50 tries`);
}
