import type { ServerToAgent } from '../gen/opamp/v1/opamp_pb';

export type TransportKind = 'websocket' | 'http' | 'grpc';

/**
 * A transport's handle on one agent connection, all the session service sees of it. HTTP has
 * no connection: each request gets a short-lived handle without `push`.
 */
export interface AgentConnection {
  readonly id: string;
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly connectedAt: Date;
  /** Sends a message at any time (not for HTTP, which cannot push). Sends are queued in order. */
  push?(msg: ServerToAgent): void;
  /** True once an answer on this connection carried the server's capabilities. */
  capabilitiesSent: boolean;
  /** The uid this connection speaks for, once known. */
  uid?: string;
  /** Labels of the credential the agent connected with (an enrollment token's), stamped onto the agent. */
  readonly labels?: Readonly<Record<string, string>>;
}
