import type { TransportKind } from '../protocol/transport-kind';
import type { OverShareGate } from './over-share-gate';

/** Why a new agent was refused: the connection limit, the new-connection rate, or a rebalance under way (over-share). */
export type AdmissionRefusalReason = 'capacity' | 'rate' | 'over-share';

/** A refusal, for the transport to answer (503 + Retry-After over HTTP, UNAVAILABLE with retry trailers over gRPC). */
export interface AdmissionRefusal {
  reason: AdmissionRefusalReason;
  message: string;
  retryAfterMs: number;
}

export interface AdmissionLimits {
  maxConnections: number;
  perSecond: number;
  /** OPAMP_RETRY_AFTER_SECONDS: what a refusal for capacity or rate asks the agent to wait. */
  retryAfterSeconds: number;
}

/**
 * The one place that decides whether a new agent may connect to this replica: at most
 * `maxConnections` at once, at most `perSecond` new ones per second (a token bucket, so short
 * bursts up to one second's worth pass), and none on WebSocket or gRPC while the over-share gate
 * is closed (a rebalance sheds this replica's surplus: OverShareGate). Beyond any of them the
 * handshake, stream or POST is refused with a retry hint and nothing already connected is
 * touched; each refusal is counted by reason.
 */
export class AdmissionControl {
  private tokens: number;
  private refilledAt = Date.now();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly currentConnections: () => number,
    private readonly overShare?: OverShareGate,
    private readonly onRefused: (transport: TransportKind, reason: AdmissionRefusalReason) => void = () => {},
  ) {
    this.tokens = limits.perSecond;
  }

  /** Takes one new-connection token if everything allows; a refusal says why and how long to wait. */
  admit(transport: TransportKind): AdmissionRefusal | undefined {
    const refusal = this.judge(transport);
    if (refusal) this.onRefused(transport, refusal.reason);
    return refusal;
  }

  private judge(transport: TransportKind): AdmissionRefusal | undefined {
    const now = Date.now();
    this.tokens = Math.min(this.limits.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.perSecond);
    this.refilledAt = now;
    const retryAfterMs = this.limits.retryAfterSeconds * 1000;
    if (this.currentConnections() >= this.limits.maxConnections)
      return { reason: 'capacity', message: 'Too many agent connections; retry later.', retryAfterMs };
    // Before the token bucket: an agent sent elsewhere takes none of this replica's rate.
    const gate = this.overShare?.decide(transport, now);
    if (gate?.refuse) {
      return {
        reason: 'over-share',
        message: 'This replica holds more than its share of agents while it rebalances; reconnect (another replica has room).',
        retryAfterMs: gate.retryAfterMs,
      };
    }
    if (this.tokens < 1) return { reason: 'rate', message: 'Too many new agent connections; retry later.', retryAfterMs };
    this.tokens -= 1;
    return undefined;
  }
}

/** A refusal's wait in whole seconds, for the Retry-After header (at least 1). */
export function retryAfterSeconds(refusal: AdmissionRefusal): number {
  return Math.max(1, Math.round(refusal.retryAfterMs / 1000));
}
