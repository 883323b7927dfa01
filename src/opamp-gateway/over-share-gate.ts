import type { ReplicaShareView } from '../cluster/fair-share';
import type { TransportKind } from '../protocol/transport-kind';

/** Refusals one round may hand out, per agent of the surplus it set out to shed. */
export const REFUSALS_PER_SURPLUS_AGENT = 4;

/** A refused agent is told to retry after 1–2 s (jittered, so that refused agents do not come back together). */
export const OVER_SHARE_RETRY_MIN_MS = 1000;
export const OVER_SHARE_RETRY_MAX_MS = 2000;

/** One rebalance round, as the rebalancer judged it when it began shedding. */
export interface OverShareRound {
  /** The fair share plus the tolerance: new agents are refused while this replica holds at least this many. */
  ceiling: number;
  /** Agents the round sheds; the refusals are bounded by REFUSALS_PER_SURPLUS_AGENT × this. */
  surplus: number;
  /** When the gate opens again whatever happens (ms since the epoch): the drain window plus the cooldown. */
  until: number;
}

export interface OverShareGateSettings {
  /** A peer's record older than this is not trusted (as for the fair share). */
  staleAfterMs: number;
  /** A peer's record older than this is a replica gone: not counted at all. */
  goneAfterMs: number;
}

/** Why the gate lets a new agent in, when it does (for the log and the tests). */
export type OverShareOpenReason = 'no-round' | 'transport' | 'expired' | 'spent' | 'within-share' | 'alone' | 'stale' | 'no-room';

export type OverShareDecision = { refuse: true; retryAfterMs: number } | { refuse: false; why: OverShareOpenReason };

/**
 * Keeps agents that a rebalance moved away from coming straight back. With a round-robin load
 * balancer half of the agents a replica sheds reconnect to it again, and spreading takes several
 * rounds; while a round runs, this gate has the replica refuse new WebSocket and gRPC agents (503 +
 * Retry-After at the upgrade, UNAVAILABLE on the stream, through admission control), so their next
 * attempt reaches another replica and one round evens the load.
 *
 * It must never lock an agent out, so it refuses only while all of these hold: a round is under way
 * and less than its drain window plus cooldown old; the round has handed out fewer than
 * REFUSALS_PER_SURPLUS_AGENT refusals per agent of its surplus; this replica still holds at least
 * its share plus the tolerance; and, by the last records read, another live replica exists, every
 * live one's record is fresh, and at least one of them holds less than that ceiling (has room).
 * Plain-HTTP agents are never refused here: they poll whichever replica and are never counted as movable.
 */
export class OverShareGate {
  private round?: OverShareRound & { refused: number };
  private peers: readonly ReplicaShareView[] = [];

  constructor(
    private readonly selfId: string,
    /** The WebSocket and gRPC agents this replica holds now. */
    private readonly held: () => number,
    private readonly settings: OverShareGateSettings,
    private readonly random: () => number = Math.random,
  ) {}

  /** A round begins (the rebalancer set out to shed `surplus`); replaces any earlier round. */
  open(round: OverShareRound): void {
    this.round = { ...round, refused: 0 };
  }

  /** Ends the round at once (a shutdown, or rebalancing turned off). */
  close(): void {
    this.round = undefined;
  }

  /** The replicas' records as last read (at every registry heartbeat). */
  observe(replicas: readonly ReplicaShareView[]): void {
    this.peers = replicas.filter((r) => r.id !== this.selfId);
  }

  /** Refusals handed out in the current round. */
  get refusedThisRound(): number {
    return this.round?.refused ?? 0;
  }

  /** Whether a new agent arriving on `transport` now is refused; a refusal is counted against the round. */
  decide(transport: TransportKind, now = Date.now()): OverShareDecision {
    const why = this.openReason(transport, now);
    if (why) return { refuse: false, why };
    this.round!.refused++;
    const retryAfterMs = Math.round(OVER_SHARE_RETRY_MIN_MS + this.random() * (OVER_SHARE_RETRY_MAX_MS - OVER_SHARE_RETRY_MIN_MS));
    return { refuse: true, retryAfterMs };
  }

  private openReason(transport: TransportKind, now: number): OverShareOpenReason | undefined {
    const round = this.round;
    if (!round) return 'no-round';
    if (transport === 'http') return 'transport';
    if (now >= round.until) {
      this.round = undefined;
      return 'expired';
    }
    if (round.refused >= REFUSALS_PER_SURPLUS_AGENT * round.surplus) return 'spent';
    if (this.held() < round.ceiling) return 'within-share';
    const live = this.peers.filter((r) => now - r.heartbeatAt.getTime() < this.settings.goneAfterMs && !r.leaving);
    if (live.length === 0) return 'alone';
    if (live.some((r) => r.movableAgents === undefined || now - r.heartbeatAt.getTime() >= this.settings.staleAfterMs)) return 'stale';
    if (!live.some((r) => (r.movableAgents ?? 0) < round.ceiling)) return 'no-room';
    return undefined;
  }
}
