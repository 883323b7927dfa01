import { Logger } from '@nestjs/common';
import { connect } from '@nats-io/transport-node';
import { BusHandler, BusResponder, BusTopic, BusUnreachableError, EventBus } from './event-bus';

type NatsConnection = Awaited<ReturnType<typeof connect>>;

/** How long to wait between attempts while NATS has never been reached (later, the client reconnects by itself). */
const FIRST_CONNECT_RETRY_MS = 2000;

/**
 * NATS URLs as the settings give them, split into what the client takes: it reads no credentials
 * from a URL, so `nats://user:pass@host` becomes user/pass options and `nats://token@host` a token.
 */
export function natsConnectOptions(urls: readonly string[]): { servers: string[]; user?: string; pass?: string; token?: string } {
  const out: { servers: string[]; user?: string; pass?: string; token?: string } = { servers: [] };
  for (const raw of urls) {
    const u = new URL(raw.includes('://') ? raw : `nats://${raw}`);
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    if (user && pass) Object.assign(out, { user, pass });
    else if (user) out.token = user;
    out.servers.push(`${u.protocol}//${u.host}`);
  }
  return out;
}

interface Envelope {
  origin: string;
  body: unknown;
}

/**
 * The bus on NATS core (no JetStream: nothing here needs to outlive a missed delivery, which the
 * reconcile repairs). One subject per topic under the deployment's prefix; `noEcho` keeps a
 * replica's own messages from coming back to it. The server never waits for NATS: it starts and
 * serves with the bus down, reports it (`connected`, the opamp_event_bus_connected gauge), and
 * the client keeps reconnecting for as long as the process lives.
 */
export class NatsEventBus extends EventBus {
  readonly kind = 'nats' as const;
  private readonly logger = new Logger('EventBus');
  private readonly handlers = new Map<BusTopic, Set<BusHandler>>();
  private readonly subscribed = new Set<BusTopic>();
  private readonly responders = new Map<BusTopic, BusResponder>();
  private readonly serving = new Set<BusTopic>();
  private nc?: NatsConnection;
  private up = false;
  private closing = false;
  private retry?: NodeJS.Timeout;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly servers: string[],
    private readonly subjectPrefix: string,
    private readonly replicaId: string,
    private readonly onConnectedChange: (connected: boolean) => void = () => {},
  ) {
    super();
  }

  get connected(): boolean {
    return this.up;
  }

  /** Starts connecting in the background; resolves at once. */
  start(): void {
    void this.attempt();
  }

  publish(topic: BusTopic, body: unknown): void {
    if (!this.nc || !this.up) return;
    const envelope: Envelope = { origin: this.replicaId, body };
    try {
      this.nc.publish(this.subject(topic), this.encoder.encode(JSON.stringify(envelope)));
    } catch (e) {
      // Closed or draining between the check and the call: the reconcile repairs what this would have told.
      this.logger.debug(`publish on ${topic} dropped: ${e instanceof Error ? e.message : e}`);
    }
  }

  subscribe(topic: BusTopic, handler: BusHandler): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    if (this.nc) this.subscribeOnWire(topic);
    return () => set.delete(handler);
  }

  async request(topic: BusTopic, replicaId: string, body: unknown, timeoutMs: number): Promise<unknown> {
    if (!this.nc || !this.up) throw new BusUnreachableError('the event bus (NATS) is unreachable', true);
    const envelope: Envelope = { origin: this.replicaId, body };
    let answer: { json<T>(): T };
    try {
      answer = await this.nc.request(this.replicaSubject(topic, replicaId), this.encoder.encode(JSON.stringify(envelope)), { timeout: timeoutMs });
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      throw new BusUnreachableError(`replica ${replicaId} did not answer (${text})`, !this.up);
    }
    const reply = answer.json<{ ok: boolean; body?: unknown; error?: string }>();
    if (!reply?.ok) throw new Error(`replica ${replicaId} failed: ${reply?.error ?? 'no reason given'}`);
    return reply.body;
  }

  serve(topic: BusTopic, responder: BusResponder): () => void {
    this.responders.set(topic, responder);
    if (this.nc) this.serveOnWire(topic);
    return () => this.responders.delete(topic);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.retry) clearTimeout(this.retry);
    const nc = this.nc;
    this.nc = undefined;
    this.setUp(false);
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  private subject(topic: BusTopic): string {
    return `${this.subjectPrefix}.${topic}`;
  }

  /** Requests go to one replica: its id is a subject token of its own (NATS forbids '.', '*', '>' and spaces in one). */
  private replicaSubject(topic: BusTopic, replicaId: string): string {
    return `${this.subjectPrefix}.replica.${Buffer.from(replicaId).toString('base64url')}.${topic}`;
  }

  private async attempt(): Promise<void> {
    if (this.closing) return;
    try {
      const nc = await connect({
        ...natsConnectOptions(this.servers),
        name: `opamp-commander ${this.replicaId}`,
        noEcho: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
      });
      if (this.closing) {
        await nc.close();
        return;
      }
      this.nc = nc;
      for (const topic of this.handlers.keys()) this.subscribeOnWire(topic);
      for (const topic of this.responders.keys()) this.serveOnWire(topic);
      this.setUp(true);
      this.logger.log(`event bus connected to NATS at ${nc.getServer()}`);
      void this.watch(nc);
    } catch (e) {
      this.logger.warn(`NATS unreachable (${e instanceof Error ? e.message : e}); retrying, changes reach other replicas at their reconcile meanwhile`);
      this.retry = setTimeout(() => void this.attempt(), FIRST_CONNECT_RETRY_MS);
      this.retry.unref();
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.setUp(false);
        this.logger.warn('event bus lost its NATS connection; reconnecting (changes reach other replicas at their reconcile meanwhile)');
      } else if (s.type === 'reconnect') {
        this.setUp(true);
        this.logger.log(`event bus reconnected to NATS at ${s.server}`);
      }
    }
  }

  private subscribeOnWire(topic: BusTopic): void {
    if (!this.nc || this.subscribed.has(topic)) return;
    this.subscribed.add(topic);
    this.nc.subscribe(this.subject(topic), {
      callback: (err: Error | null, msg: { subject: string; json<T>(): T }) => {
        if (err) return;
        let envelope: Envelope;
        try {
          envelope = msg.json<Envelope>();
        } catch {
          this.logger.warn(`undecodable message on ${msg.subject} ignored`);
          return;
        }
        if (typeof envelope?.origin !== 'string' || envelope.origin === this.replicaId) return;
        for (const h of this.handlers.get(topic) ?? []) {
          try {
            h(envelope.body, envelope.origin);
          } catch (e) {
            this.logger.error(`bus handler for ${topic} failed: ${e instanceof Error ? e.stack : e}`);
          }
        }
      },
    });
  }

  private serveOnWire(topic: BusTopic): void {
    if (!this.nc || this.serving.has(topic)) return;
    this.serving.add(topic);
    const nc = this.nc;
    nc.subscribe(this.replicaSubject(topic, this.replicaId), {
      callback: (err: Error | null, msg: { reply?: string; json<T>(): T; respond(data: Uint8Array): boolean }) => {
        if (err || !msg.reply) return;
        const answer = (reply: object) => msg.respond(this.encoder.encode(JSON.stringify(reply)));
        let envelope: Envelope;
        try {
          envelope = msg.json<Envelope>();
        } catch {
          answer({ ok: false, error: 'undecodable request' });
          return;
        }
        const responder = this.responders.get(topic);
        if (!responder || typeof envelope?.origin !== 'string') {
          answer({ ok: false, error: 'not served' });
          return;
        }
        responder(envelope.body, envelope.origin).then(
          (body) => answer({ ok: true, body }),
          (e: unknown) => answer({ ok: false, error: e instanceof Error ? e.message : String(e) }),
        );
      },
    });
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.onConnectedChange(up);
  }
}
