import * as net from 'node:net';

/**
 * A load balancer for tests: a TCP proxy on a loopback port handing each new connection to the
 * next backend in turn (round robin), skipping a backend that refuses the connection. Bytes are
 * piped both ways untouched, so WebSocket, HTTP and gRPC all pass.
 */
export class RoundRobinProxy {
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  /** Client connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly server: net.Server,
    /** Backend ports on 127.0.0.1, in turn; change it at any time. */
    public backends: number[],
  ) {}

  static async start(backends: number[]): Promise<RoundRobinProxy> {
    const server = net.createServer();
    const proxy = new RoundRobinProxy(server, backends);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const order = this.backends.map((_, i) => this.backends[(this.next + i) % this.backends.length]);
    this.next = (this.next + 1) % Math.max(1, this.backends.length);
    const tryNext = (i: number) => {
      if (i >= order.length || client.destroyed) return void client.destroy();
      const upstream = net.connect(order[i], '127.0.0.1');
      upstream.once('error', () => {
        upstream.destroy();
        tryNext(i + 1);
      });
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        this.sockets.add(upstream);
        upstream.on('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryNext(0);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
