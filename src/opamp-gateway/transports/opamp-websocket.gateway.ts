import type { IncomingMessage } from 'node:http';
import { OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { WebSocketTransport } from './websocket-transport';

/** Nest's entry for OpAMP WebSocket connections (served by OpampWsAdapter on OPAMP_PORT). */
@WebSocketGateway({ path: '/v1/opamp' })
export class OpampWebSocketGateway implements OnGatewayConnection {
  constructor(private readonly transport: WebSocketTransport) {}

  handleConnection(socket: WebSocket, req: IncomingMessage): void {
    this.transport.accept(socket, req);
  }
}
