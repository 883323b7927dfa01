import type { IncomingHttpHeaders } from 'node:http';
import type { TransportKind } from './agent-connection';

/** The outcome of checking an agent's credentials before a connection is accepted. */
export type AgentAuthResult = { ok: true; labels?: Record<string, string> } | { ok: false; status: 401 | 403; message: string };

/**
 * The hook every OpAMP transport calls before accepting an agent (before the WebSocket upgrade,
 * before an HTTP POST is read, when a gRPC stream opens). The auth module provides the real
 * check (enrollment tokens, mTLS); until then every agent is admitted.
 */
export abstract class AgentAuthenticator {
  abstract authenticate(headers: IncomingHttpHeaders, transport: TransportKind): Promise<AgentAuthResult>;
}

export class AllowAllAgents extends AgentAuthenticator {
  async authenticate(): Promise<AgentAuthResult> {
    return { ok: true };
  }
}
