import type { ServerResponse } from 'node:http';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, register } from 'prom-client';
import { ChangeFeed, ResourceChange, WatchKind } from '../cluster/change-feed';
import { UnavailableError } from '../common/domain-errors';
import { PeriodicTask } from '../common/periodic-task';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/** Why a stream ended, as its last `end` event says. */
export type EndReason = 'slow-consumer' | 'shutdown' | 'bus-down' | 'token-expired';

const END_DETAIL: Record<EndReason, string> = {
  'slow-consumer': 'This stream fell too far behind (its reader is slower than the changes); reconnect with Last-Event-ID or relist.',
  shutdown: 'The server is shutting down; reconnect (with Last-Event-ID) to another replica or later.',
  'token-expired': 'The access token this stream was opened with has expired; reconnect with a fresh one and Last-Event-ID.',
  'bus-down': 'The event bus between replicas is down: changes made on other replicas cannot be told. Reconnect after Retry-After and relist.',
};

/** A socket that does not take the end event within this long after a cut is destroyed, so its buffer is freed. */
const CUT_GRACE_MS = 5000;

function metric<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** One open change stream. */
interface Stream {
  res: ServerResponse;
  kinds: ReadonlySet<WatchKind>;
  expiry?: NodeJS.Timeout;
  ended: boolean;
}

/**
 * The change streams this replica serves: each one hears the ChangeFeed, filtered to its kinds,
 * and writes Server-Sent Events. Bounded three ways: WATCH_MAX_STREAMS at once (more: 503), the
 * bytes waiting in one stream's buffer (past WATCH_BUFFER_BYTES the stream is cut with an `end`
 * event; the socket's own buffer holds what the kernel takes before that), and shutdown ends
 * every stream before the HTTP server closes, so a watcher never holds the process up.
 */
@Injectable()
export class WatchStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(WatchStreams.name);
  private readonly streams = new Set<Stream>();
  private closing = false;
  /** One timer for every stream's keep-alive comment (proxies close a silent stream). */
  private readonly heartbeats = new PeriodicTask(
    async () => {
      for (const s of this.streams) this.write(s, ': keep-alive\n\n');
    },
    (e) => this.logger.warn(`keep-alive failed: ${e}`),
  );
  private readonly open = metric(
    'opamp_watch_streams',
    () => new Gauge({ name: 'opamp_watch_streams', help: 'Change streams (GET /api/v1/watch) open on this replica' }),
  );
  private readonly sent = metric(
    'opamp_watch_events_sent_total',
    () => new Counter({ name: 'opamp_watch_events_sent_total', help: 'Change events written to change streams (one per stream it went to)' }),
  );
  private readonly ends = metric(
    'opamp_watch_streams_ended_total',
    () => new Counter({ name: 'opamp_watch_streams_ended_total', help: 'Change streams the server ended, by reason', labelNames: ['reason'] }),
  );

  constructor(
    private readonly feed: ChangeFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    feed.listen((change) => {
      for (const s of this.streams) if (s.kinds.has(change.kind)) this.writeChange(s, change);
    });
    feed.onBusChange((connected) => {
      if (!connected) for (const s of [...this.streams]) this.end(s, 'bus-down');
    });
  }

  /** Seconds a refused watcher should wait. */
  get retryAfterSeconds(): number {
    return Math.max(1, this.config.opamp.retryAfterSeconds);
  }

  /** Throws the 503 a new stream gets when this replica cannot serve one now. */
  admit(): void {
    if (this.closing) throw new UnavailableError('The server is shutting down.', this.retryAfterSeconds);
    if (!this.feed.busConnected) throw new UnavailableError(END_DETAIL['bus-down'], this.retryAfterSeconds);
    if (this.streams.size >= this.config.watch.maxStreams) {
      throw new UnavailableError(
        `This replica serves its most change streams (WATCH_MAX_STREAMS=${this.config.watch.maxStreams}); try again later.`,
        this.retryAfterSeconds,
      );
    }
  }

  /**
   * Starts streaming on `res` (headers already written): the resume or the expiry, the `ready`
   * event with the id to resume from, then every change of `kinds` until the client leaves.
   */
  start(res: ServerResponse, kinds: ReadonlySet<WatchKind>, lastEventId: string | undefined, tokenExpiresAt?: number): void {
    const s: Stream = { res, kinds, ended: false };
    this.heartbeats.start(this.config.watch.heartbeatSeconds * 1000);
    // A stream is as good as the token that opened it: a revoked session or a disabled user stops hearing changes when it expires.
    if (tokenExpiresAt !== undefined) {
      s.expiry = setTimeout(() => this.end(s, 'token-expired'), Math.max(0, tokenExpiresAt - Date.now()));
      s.expiry.unref();
    }
    this.streams.add(s);
    this.open.set(this.streams.size);
    const forget = () => this.forget(s);
    res.on('close', forget);
    res.on('error', forget);
    // How long an EventSource waits before it reconnects by itself.
    this.write(s, `retry: ${this.retryAfterSeconds * 1000}\n\n`);
    if (lastEventId !== undefined) {
      const missed = this.feed.since(lastEventId);
      if (missed === undefined) {
        this.write(
          s,
          sse('expired', {
            reason: 'expired',
            detail: `Event ${JSON.stringify(lastEventId.slice(0, 64))} is not in this replica's recent history: list the resources again, then follow this stream.`,
          }),
        );
      } else {
        for (const change of missed) if (kinds.has(change.kind)) this.writeChange(s, change);
      }
    }
    const latest = this.feed.latestId;
    if (!s.ended) this.write(s, sse('ready', { resumeId: latest }, latest));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.heartbeats.stop();
    for (const s of [...this.streams]) this.end(s, 'shutdown');
  }

  private writeChange(s: Stream, change: ResourceChange): void {
    if (this.write(s, sse(undefined, { type: change.type, object: change.object }, change.id))) this.sent.inc();
  }

  /** Writes unless the stream has ended; cuts a stream whose unsent bytes are over the limit. False when nothing was written. */
  private write(s: Stream, text: string): boolean {
    if (s.ended) return false;
    s.res.write(text);
    if (s.res.writableLength > this.config.watch.bufferBytes) this.end(s, 'slow-consumer');
    return true;
  }

  private end(s: Stream, reason: EndReason): void {
    if (s.ended) return;
    s.ended = true;
    this.ends.inc({ reason });
    s.res.end(sse('end', { reason, detail: END_DETAIL[reason], retryAfterSeconds: this.retryAfterSeconds }));
    if (reason === 'slow-consumer') {
      this.logger.warn('a change stream fell too far behind its reader and was cut');
      // A reader that takes nothing more must not keep the buffer alive.
      setTimeout(() => s.res.destroy(), CUT_GRACE_MS).unref();
    }
    this.forget(s);
  }

  private forget(s: Stream): void {
    if (s.expiry) clearTimeout(s.expiry);
    s.ended = true;
    if (this.streams.delete(s)) this.open.set(this.streams.size);
  }
}

/** One Server-Sent Event: `event:` (omitted for the default, a change), `id:`, and one `data:` line of JSON. */
export function sse(event: string | undefined, data: unknown, id?: string): string {
  return `${event ? `event: ${event}\n` : ''}${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}
