import type { INestApplicationContext, WebSocketAdapter } from '@nestjs/common';
import type { WebSocket, WebSocketServer } from 'ws';
import { Observable } from 'rxjs';
import { OpampListener } from './opamp-listener';

/**
 * The @nestjs/websockets adapter for OpAMP. The server it hands to Nest is the OpAMP
 * listener's WebSocket server, which only ever sees sockets that passed path, admission and
 * credential checks before the upgrade. OpAMP has no message patterns (every frame is one
 * binary AgentToServer), so frames are handled by the WebSocket transport, not by Nest's
 * pattern-matched handlers.
 */
export class OpampWsAdapter implements WebSocketAdapter<WebSocketServer, WebSocket> {
  constructor(private readonly app: INestApplicationContext) {}

  create(): WebSocketServer {
    return this.app.get(OpampListener).wss;
  }

  bindClientConnect(server: WebSocketServer, callback: (...args: unknown[]) => void): void {
    server.on('connection', callback);
  }

  bindClientDisconnect(client: WebSocket, callback: () => void): void {
    client.on('close', callback);
  }

  bindMessageHandlers(): void {
    // Frames are read by WebSocketTransport.accept, which the gateway calls on connection.
  }

  bindMessageHandler(): Observable<unknown> {
    return new Observable();
  }

  /** The listener owns the server's lifetime (OpampListener.onApplicationShutdown). */
  async dispose(): Promise<void> {}

  /**
   * By the time Nest calls this, OpampListener.beforeApplicationShutdown has closed every agent
   * socket; waiting for ws's own close would wait for clients that are already gone or hang.
   */
  close(server: WebSocketServer): void {
    server.close();
  }
}
