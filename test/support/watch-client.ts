import { request, IncomingMessage, ClientRequest } from 'node:http';

/** One Server-Sent Event as a watcher reads it; `data` parsed as JSON. */
export interface WatchEvent {
  event: string;
  id?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
}

/**
 * A change stream client on a raw HTTP request (as `opampctl -w` and the UI read it: a bearer
 * header, which EventSource cannot send). It keeps every event, can stop reading (a slow
 * consumer) and tells when the server ended the stream.
 */
export class WatchClient {
  readonly events: WatchEvent[] = [];
  comments = 0;
  ended = false;
  private buffer = '';
  private waiters: (() => void)[] = [];

  private constructor(
    readonly status: number,
    readonly headers: IncomingMessage['headers'],
    readonly res: IncomingMessage,
    private readonly req: ClientRequest,
    readonly body: string,
  ) {
    if (status !== 200) return;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.take(chunk));
    res.on('end', () => this.finish());
    res.on('close', () => this.finish());
    res.on('error', () => this.finish());
  }

  /** Opens `GET /api/v1/watch?query`; resolves with the stream, or with the refusal (status and body) when not 200. */
  static open(port: number, opts: { token?: string; query?: string; lastEventId?: string } = {}): Promise<WatchClient> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
      const req = request({ host: '127.0.0.1', port, path: `/api/v1/watch${opts.query ? `?${opts.query}` : ''}`, headers }, (res) => {
        if (res.statusCode === 200) {
          resolve(new WatchClient(200, res.headers, res, req, ''));
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(new WatchClient(res.statusCode ?? 0, res.headers, res, req, body)));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The changes (default events) so far. */
  get changes(): WatchEvent[] {
    return this.events.filter((e) => e.event === 'message');
  }

  /** Waits for an event that satisfies `ok` (the guard is a failure timeout, not a measurement). */
  async waitFor(ok: (e: WatchEvent) => boolean, what = 'event', timeoutMs = 30_000): Promise<WatchEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(ok);
      if (hit) return hit;
      if (this.ended) throw new Error(`stream ended before ${what}; events: ${JSON.stringify(this.events).slice(0, 2000)}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(this.events).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** A change of `kind`/`name` (and more, by `ok`). */
  change(kind: string, name: string, ok: (e: WatchEvent) => boolean = () => true): Promise<WatchEvent> {
    return this.waitFor(
      (e) => e.event === 'message' && e.data.object?.kind === kind && e.data.object?.metadata?.name === name && ok(e),
      `${kind} ${name} change`,
    );
  }

  /** Waits for the server to end the stream. */
  async closed(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops reading: the server's writes pile up (a slow consumer). */
  pause(): void {
    this.res.pause();
  }

  resume(): void {
    this.res.resume();
  }

  close(): void {
    this.req.destroy();
    this.finish();
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    let at: number;
    while ((at = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments++;
          continue;
        }
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
        else continue;
        any = true;
      }
      if (any && data.length) this.events.push({ event, id, data: JSON.parse(data.join('\n')) });
    }
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
}
