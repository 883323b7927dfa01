import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TransportKind } from './transport-kind';

/**
 * The outcome of checking an agent's credentials before a connection is accepted. 503: they
 * could not be checked now (the database is unreachable); the agent should retry after
 * `retryAfterSeconds` (HTTP 503 + Retry-After, gRPC UNAVAILABLE), never be told they are wrong.
 */
export type AgentAuthResult =
  | { ok: true; labels?: Record<string, string>; bearer?: string }
  | { ok: false; status: 401 | 403; message: string }
  | { ok: false; status: 503; message: string; retryAfterSeconds: number };

/** Credentials could not be checked (a failure of the server's own, not of the agent's). */
export function credentialsUncheckable(retryAfterSeconds: number): AgentAuthResult {
  return { ok: false, status: 503, message: 'Credentials cannot be checked right now (the database is unreachable); retry later.', retryAfterSeconds };
}

/** Headers of a refusal: the challenge of a 401, the retry hint of a 503. */
export function refusalHeaders(auth: AgentAuthResult): Record<string, string> {
  if (auth.ok) return {};
  if (auth.status === 401) return { 'www-authenticate': 'Bearer' };
  if (auth.status === 503) return { 'retry-after': String(auth.retryAfterSeconds) };
  return {};
}

/** What the transport knows of the peer besides its headers: whether its TLS client certificate verified against TLS_CLIENT_CA_FILE. */
export interface AgentPeer {
  certificateVerified: boolean;
  /** Subject CN of the verified certificate, for logs. */
  certificateSubject?: string;
}

/**
 * The hook every OpAMP transport calls before accepting an agent (before the WebSocket upgrade,
 * before an HTTP POST is read, when a gRPC stream opens). The auth module provides the real
 * check (enrollment tokens, mTLS).
 */
export abstract class AgentAuthenticator {
  abstract authenticate(headers: IncomingHttpHeaders, transport: TransportKind, peer?: AgentPeer): Promise<AgentAuthResult>;
}

export class AllowAllAgents extends AgentAuthenticator {
  async authenticate(): Promise<AgentAuthResult> {
    return { ok: true };
  }
}

/** An upgrade request that passed the check, carrying the labels its credential stamps on the agent (read by the WebSocket transport). */
export type AuthenticatedUpgrade = IncomingMessage & { agentLabels?: Record<string, string>; agentBearer?: string };
