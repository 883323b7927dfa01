import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import type { ServerToAgent } from '../../gen/opamp/v1/opamp_pb';
import { AuthenticatedUpgrade } from '../../protocol/agent-authenticator';
import { AgentConnection } from '../agent-connection';
import { OpampMetrics } from '../opamp-metrics';
import { OpampMessageHandler } from '../opamp-message-handler';
import { decodeAgentToServer, encodeServerToAgent, frameWebSocket, MalformedMessageError, unframeWebSocket } from '../protocol/opamp-codec';

/** Messages read ahead of the one being handled before the socket is paused (back-pressure on the agent). */
const MAX_QUEUED_INCOMING = 8;

/** WebSocket close codes used by OpAMP (RFC 6455 §7.4.1). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_POLICY_VIOLATION = 1008;

/** A close reason fits in 123 bytes (RFC 6455 §5.5): longer ones are cut, at a character boundary. */
export function closeReasonText(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

/**
 * OpAMP over WebSocket, after the upgrade: binary frames with the 0x00 header, every message
 * answered in order, pushes at any time. One writer per socket: replies and pushes share a
 * queue that waits for each write to reach the socket.
 */
@Injectable()
export class WebSocketTransport {
  private readonly logger = new Logger('OpampWebSocket');
  private open = 0;
  /** Sessions still winding down after their socket closed. */
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly handler: OpampMessageHandler,
    private readonly metrics: OpampMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get openConnections(): number {
    return this.open;
  }

  /** Resolves when every closed socket's session has been recorded as ended. */
  async drain(): Promise<void> {
    while (this.closing.size > 0) await Promise.all([...this.closing]);
  }

  accept(ws: WebSocket, req: IncomingMessage): void {
    this.open++;
    this.metrics.connectionsOpened.inc({ transport: 'websocket' });
    let sending: Promise<void> = Promise.resolve();
    let handling: Promise<void> = Promise.resolve();
    let queued = 0;

    const send = (msg: ServerToAgent, receivedAt?: bigint) => {
      const frame = frameWebSocket(encodeServerToAgent(msg));
      if (frame.length > this.config.opamp.maxMessageBytes) {
        this.logger.error(`not sending a ${frame.length}-byte message to ${conn.uid}: over the message size limit`);
        return;
      }
      sending = sending.then(
        () =>
          new Promise<void>((resolve) => {
            if (ws.readyState !== WebSocket.OPEN) return resolve();
            ws.send(frame, { binary: true }, () => {
              this.metrics.sent('websocket', frame.length, receivedAt === undefined ? undefined : Number(process.hrtime.bigint() - receivedAt) / 1e9);
              resolve();
            });
          }),
      );
    };

    const conn: AgentConnection = {
      id: randomUUID(),
      transport: 'websocket',
      remoteAddress: req.socket.remoteAddress ?? '',
      connectedAt: new Date(),
      capabilitiesSent: false,
      push: (msg) => send(msg),
      goAway: (details) => void sending.then(() => ws.close(CLOSE_GOING_AWAY, closeReasonText(details))),
      labels: (req as AuthenticatedUpgrade).agentLabels,
      bearer: (req as AuthenticatedUpgrade).agentBearer,
      host: req.headers.host,
    };

    const onFrame = async (data: Buffer, receivedAt: bigint) => {
      if (conn.closeReason) return; // closing: what was read ahead is not handled
      let reply: ServerToAgent;
      try {
        const msg = decodeAgentToServer(unframeWebSocket(data));
        this.metrics.received('websocket', data.length, msg);
        reply = await this.handler.handle(conn, msg);
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw err;
        this.metrics.received('websocket', data.length);
        this.metrics.malformed.inc({ transport: 'websocket' });
        reply = this.handler.malformed(err);
      }
      send(reply, receivedAt);
      // A protocol rule was broken (see OpampMessageHandler.checkUidUse): the answer says why, then the socket closes.
      const reason = conn.closeReason;
      if (reason) void sending.then(() => ws.close(CLOSE_POLICY_VIOLATION, closeReasonText(reason)));
    };

    (ws as WebSocket & { isAlive?: boolean }).isAlive = true;
    ws.on('pong', () => ((ws as WebSocket & { isAlive?: boolean }).isAlive = true));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      (ws as WebSocket & { isAlive?: boolean }).isAlive = true;
      if (!isBinary) {
        this.metrics.malformed.inc({ transport: 'websocket' });
        ws.close(CLOSE_UNSUPPORTED_DATA, 'OpAMP messages are binary frames');
        return;
      }
      const receivedAt = process.hrtime.bigint();
      if (++queued >= MAX_QUEUED_INCOMING) ws.pause();
      handling = handling
        .then(() => onFrame(data, receivedAt))
        .catch((err) => {
          this.logger.error(`message from ${conn.uid ?? conn.remoteAddress} failed: ${(err as Error).stack ?? err}`);
          ws.close(1011, 'internal error');
        })
        .finally(() => {
          if (--queued < MAX_QUEUED_INCOMING && ws.isPaused) ws.resume();
        });
    });
    ws.on('error', (err) => this.logger.debug(`socket error from ${conn.remoteAddress}: ${err.message}`));
    ws.on('close', () => {
      this.open--;
      this.metrics.connectionsClosed.inc({ transport: 'websocket' });
      const done: Promise<void> = handling
        .then(() => this.handler.connectionClosed(conn))
        .catch((err) => this.logger.error(`closing ${conn.uid} failed: ${err}`))
        .finally(() => this.closing.delete(done));
      this.closing.add(done);
    });
  }
}
