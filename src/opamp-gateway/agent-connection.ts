import type { ServerToAgent } from '../gen/opamp/v1/opamp_pb';

import type { TransportKind } from '../protocol/transport-kind';

export type { TransportKind };

/**
 * A transport's handle on one agent connection, all the message handler and the pusher see of it. HTTP has
 * no connection: each request gets a short-lived handle without `push`.
 */
export interface AgentConnection {
  readonly id: string;
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly connectedAt: Date;
  /** Sends a message at any time (not for HTTP, which cannot push). Sends are queued in order. */
  push?(msg: ServerToAgent): void;
  /**
   * Asks the agent to reconnect, through its load balancer to another replica, once the answers
   * queued are written: WebSocket close 1001 (going away), gRPC status UNAVAILABLE. Not for HTTP.
   */
  goAway?(details: string): void;
  /** Set when this replica asked the agent to reconnect elsewhere (ConnectionDrainer). */
  shed?: boolean;
  /** True once an answer on this connection carried the server's capabilities. */
  capabilitiesSent: boolean;
  /** The uid this connection speaks for, once known. */
  uid?: string;
  /**
   * A uid the server assigned this connection (a clone's `new_instance_uid`) before it was bound:
   * the one uid a connection that already speaks for another may move to.
   */
  assignedUid?: string;
  /**
   * The uid, held by another live connection, for which this one was asked its full state before it may take
   * that uid over (it said nothing of who it is). Asked once: a second silent message takes the uid over.
   */
  identityAskedFor?: string;
  /**
   * Set by the session when the connection broke a protocol rule: the transport sends the answer
   * (an error_response) and then closes (WebSocket 1008, gRPC INVALID_ARGUMENT) with this reason.
   */
  closeReason?: string;
  /** Labels of the credential the agent connected with (an enrollment token's), stamped onto the agent. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The enrollment token the agent was admitted with, and the host[:port] it reached: the default own-metrics offer is made of them. */
  readonly bearer?: string;
  readonly host?: string;
}
