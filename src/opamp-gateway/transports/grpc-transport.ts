import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerDuplexStream, StatusObject } from '@grpc/grpc-js';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import type { ServerToAgent } from '../../gen/opamp/v1/opamp_pb';
import { AgentConnection } from '../agent-connection';
import { OpampMetrics } from '../opamp-metrics';
import { OpampMessageHandler } from '../opamp-message-handler';
import { decodeAgentToServer, encodeServerToAgent, MalformedMessageError } from '../protocol/opamp-codec';

/** Messages read ahead of the one being handled before the stream is paused (back-pressure on the agent). */
const MAX_QUEUED_INCOMING = 8;

/** One `OpAMPTransport.Connect` call, as the server sees it: bytes in, bytes out (see grpc-opamp-service.ts). */
export type OpampGrpcCall = ServerDuplexStream<Buffer, Uint8Array>;

type EndStatus = Pick<StatusObject, 'code' | 'details'> & { metadata?: Metadata };

/** A live stream: how to end it, and when its closing has been fully handled. */
interface OpenStream {
  end(status: EndStatus): void;
  settled: Promise<void>;
}

/** "host:port" or "[v6]:port" from grpc-js's getPeer() → the address alone. */
export function peerAddress(peer: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(peer);
  if (v6) return v6[1];
  const i = peer.lastIndexOf(':');
  return i > 0 && peer.indexOf(':') === i ? peer.slice(0, i) : peer;
}

/**
 * The HTTP/2 session a call runs on. grpc-js does not expose it: its server call wraps the
 * intercepting calls, the innermost of which holds the HTTP/2 stream. Undefined when that shape
 * changes (then a moved agent may open its next stream on the same connection, to this replica).
 */
export function http2SessionOf(call: unknown): { close(): void } | undefined {
  let at = (call as { call?: unknown } | undefined)?.call as Record<string, unknown> | undefined;
  for (let depth = 0; at && depth < 8; depth++) {
    const stream = at.stream as { session?: { close(): void; closed?: boolean } } | undefined;
    if (stream?.session && typeof stream.session.close === 'function') return stream.session.closed ? undefined : stream.session;
    at = at.nextCall as Record<string, unknown> | undefined;
  }
  return undefined;
}

/**
 * OpAMP over gRPC, once a Connect stream has passed authentication and admission: each
 * stream message is one protobuf AgentToServer, every one answered in order, pushes at any
 * time. The same discipline as the WebSocket transport: one writer per stream (replies and
 * pushes share a queue that waits for each write), sequential handling with back-pressure,
 * malformed messages answered with BAD_REQUEST on a stream that stays open.
 */
@Injectable()
export class GrpcTransport {
  private readonly logger = new Logger('OpampGrpc');
  private readonly streams = new Set<OpenStream>();

  constructor(
    private readonly handler: OpampMessageHandler,
    private readonly metrics: OpampMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Connect streams currently open (counted by admission control like WebSocket connections). */
  get openStreams(): number {
    return this.streams.size;
  }

  /** `labels`: those of the credential the stream was admitted with (stamped onto the agent). */
  accept(call: OpampGrpcCall, labels?: Record<string, string>, bearer?: string): void {
    let sending: Promise<void> = Promise.resolve();
    let handling: Promise<void> = Promise.resolve();
    let queued = 0;
    let spoke = false;
    let ending = false;
    let closed = false;
    let markClosed!: () => void;
    const whenClosed = new Promise<void>((resolve) => (markClosed = resolve));
    let settle!: () => void;
    const stream: OpenStream = { end: (s) => endWith(s), settled: new Promise<void>((resolve) => (settle = resolve)) };
    this.streams.add(stream);
    this.metrics.connectionsOpened.inc({ transport: 'grpc' });

    const send = (msg: ServerToAgent, receivedAt?: bigint) => {
      const bytes = encodeServerToAgent(msg);
      if (bytes.length > this.config.opamp.maxMessageBytes) {
        this.logger.error(`not sending a ${bytes.length}-byte message to ${conn.uid}: over the message size limit`);
        return;
      }
      sending = sending.then(() => {
        if (ending || closed) return;
        const written = new Promise<void>((resolve) => {
          call.write(bytes, (err?: Error | null) => {
            if (!err) this.metrics.sent('grpc', bytes.length, receivedAt === undefined ? undefined : Number(process.hrtime.bigint() - receivedAt) / 1e9);
            resolve();
          });
        });
        // grpc-js never calls back a write on a cancelled call: the queue must not wait for it.
        return Promise.race([written, whenClosed]);
      });
    };

    const conn: AgentConnection = {
      id: randomUUID(),
      transport: 'grpc',
      remoteAddress: peerAddress(call.getPeer()),
      connectedAt: new Date(),
      capabilitiesSent: false,
      push: (msg) => send(msg),
      goAway: (details) => {
        // GOAWAY first, so that the agent's next stream opens a new connection (through the load
        // balancer) instead of coming back to this replica on the same HTTP/2 connection.
        http2SessionOf(call)?.close();
        endWith({ code: GrpcStatus.UNAVAILABLE, details, metadata: new Metadata() });
      },
      labels,
      bearer,
      host: call.getHost(),
    };

    /** Ends the call with `status` once the queued answers are written (OK when none is given). */
    const endWith = (status?: EndStatus) => {
      if (ending || closed) return;
      ending = true;
      void sending.then(() => {
        if (closed) return;
        if (status) call.emit('error', status);
        else call.end();
      });
    };

    const onClosed = () => {
      if (closed) return;
      closed = true;
      this.metrics.connectionsClosed.inc({ transport: 'grpc' });
      clearTimeout(idle);
      markClosed();
      handling = handling
        .then(() => this.handler.connectionClosed(conn))
        .catch((err) => this.logger.error(`closing ${conn.uid} failed: ${err}`))
        .finally(() => {
          this.streams.delete(stream);
          settle();
        });
    };

    const onMessage = async (data: Buffer, receivedAt: bigint) => {
      if (conn.closeReason) return;
      let reply: ServerToAgent;
      try {
        reply = await this.handler.handle(conn, decodeAgentToServer(data));
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw err;
        this.metrics.malformed.inc({ transport: 'grpc' });
        reply = this.handler.malformed(err);
      }
      send(reply, receivedAt);
      // A protocol rule was broken (see OpampMessageHandler.checkUidUse): the answer says why, then the stream ends.
      // (Once the answer is written: endWith() stops queued writes that have not started.)
      const reason = conn.closeReason;
      if (reason) void sending.then(() => endWith({ code: GrpcStatus.INVALID_ARGUMENT, details: reason }));
    };

    // A stream that never speaks holds a slot for nothing: close it after the idle timeout.
    const idleSeconds = this.config.grpc.idleTimeoutSeconds;
    const idle = setTimeout(() => {
      if (!spoke) endWith({ code: GrpcStatus.DEADLINE_EXCEEDED, details: `no AgentToServer within ${idleSeconds} s of opening the stream` });
    }, idleSeconds * 1000);
    idle.unref();

    call.on('data', (data: Buffer) => {
      if (ending || closed) return;
      if (!spoke) {
        spoke = true;
        clearTimeout(idle);
      }
      this.metrics.received('grpc', data.length);
      const receivedAt = process.hrtime.bigint();
      if (++queued >= MAX_QUEUED_INCOMING) call.pause();
      handling = handling
        .then(() => onMessage(data, receivedAt))
        // The next message is read only once this answer is written: an agent that stops
        // reading its answers stops being read (HTTP/2 flow control), instead of filling memory.
        .then(() => sending)
        .catch((err) => {
          this.logger.error(`message from ${conn.uid ?? conn.remoteAddress} failed: ${(err as Error).stack ?? err}`);
          endWith({ code: GrpcStatus.INTERNAL, details: 'internal error' });
        })
        .finally(() => {
          if (--queued < MAX_QUEUED_INCOMING && call.isPaused()) call.resume();
        });
    });
    // The agent half-closed its side: answer what it sent, then end the call with OK.
    call.on('end', () => void handling.then(() => endWith()));
    call.on('cancelled', onClosed);
    call.on('finish', onClosed);
    call.on('close', onClosed);
    call.on('error', (err: Error) => {
      // Our own endWith() emits a status object here too; only real stream errors are logged.
      if (typeof (err as { code?: unknown }).code !== 'number') this.logger.debug(`stream error from ${conn.remoteAddress}: ${err.message}`);
    });
  }

  /**
   * Ends every open stream with UNAVAILABLE (the agent reconnects, to another replica if this
   * one is going away); resolves once each stream's closing has been handled (agent recorded
   * offline). The caller bounds the wait.
   */
  endAll(details: string): Promise<void> {
    const open = [...this.streams];
    for (const s of open) s.end({ code: GrpcStatus.UNAVAILABLE, details, metadata: new Metadata() });
    return Promise.all(open.map((s) => s.settled)).then(() => undefined);
  }
}
