import type { FilterQuery } from 'mongoose';

/**
 * What "connected" means, in one place. A WebSocket or gRPC agent is connected while its stream
 * is open (the holding replica records `connection.connected`; a replica that goes away has its
 * agents marked disconnected by the replica registry). A plain-HTTP agent has no stream: it
 * counts as connected while it keeps polling, until it has missed HTTP_MISSED_POLLS poll
 * intervals. Every reader (REST resources and filters, group and fleet counts, deletes, commands,
 * the session store) asks this rule, so they always agree about the same agent.
 *
 * Two clocks judge an HTTP agent's last poll. The replica serving it holds the exact time in
 * memory (`httpCutoff`). The stored `connection.lastSeenAt` lags that by the write batching (a
 * poll is written within min(OPAMP_LAST_SEEN_WRITE_SECONDS, heartbeat) plus one
 * OPAMP_LAST_SEEN_FLUSH_MS), so whoever reads the database gives it that much more
 * (`storedHttpCutoff`): otherwise an agent polling another replica would look gone.
 */
export const HTTP_MISSED_POLLS = 3;

/**
 * The sweep cadence, beside the rule it enforces: how often the stored flags are brought in line
 * with it (silent HTTP agents marked disconnected, silent sessions evicted). Once a heartbeat
 * interval, never less often than every 10 s, so a stored flag lags the rule by at most that; the
 * readers above apply the rule themselves and never show the lag.
 */
export const MAX_SWEEP_EVERY_MS = 10_000;

/** The stored connection facts the rule reads (an agent's `connection`). */
export interface ConnectionFacts {
  connected?: boolean;
  transport?: string;
  lastSeenAt?: Date | string | number;
  replicaId?: string;
}

/** The settings the rule depends on (AppConfig's opamp and cluster sections). */
export interface LivenessSettings {
  heartbeatIntervalSeconds: number;
  /** OPAMP_LAST_SEEN_WRITE_SECONDS and OPAMP_LAST_SEEN_FLUSH_MS: how late a poll may be stored. */
  lastSeenWriteSeconds: number;
  lastSeenFlushMs: number;
  /** REPLICA_TIMEOUT_SECONDS: after it, a silent replica's agents are nobody's. */
  replicaTimeoutSeconds: number;
}

/** How long an HTTP agent may be silent and still count as connected (by its exact last poll). */
export function httpSilenceMs(heartbeatIntervalSeconds: number): number {
  return HTTP_MISSED_POLLS * heartbeatIntervalSeconds * 1000;
}

/** The rule on facts already read, given the HTTP cutoff that fits where `lastSeenAt` came from. */
export function connectedAt(c: ConnectionFacts | null | undefined, httpCutoff: Date): boolean {
  if (!c?.connected) return false;
  return c.transport !== 'http' || (c.lastSeenAt !== undefined && new Date(c.lastSeenAt).getTime() >= httpCutoff.getTime());
}

/** The rule for one configuration, in memory and as database filters. */
export class AgentLiveness {
  /** Silence allowed by the exact last poll (held in memory by the serving replica). */
  readonly httpSilenceMs: number;
  /** How much later than the poll itself a stored last poll may be written. */
  readonly storedLagMs: number;
  /** How often the sweeps run (see MAX_SWEEP_EVERY_MS). */
  readonly sweepEveryMs: number;
  private readonly replicaTimeoutMs: number;

  constructor(s: LivenessSettings) {
    this.httpSilenceMs = httpSilenceMs(s.heartbeatIntervalSeconds);
    this.storedLagMs = Math.min(s.lastSeenWriteSeconds, s.heartbeatIntervalSeconds) * 1000 + s.lastSeenFlushMs;
    this.sweepEveryMs = Math.min(s.heartbeatIntervalSeconds * 1000, MAX_SWEEP_EVERY_MS);
    this.replicaTimeoutMs = s.replicaTimeoutSeconds * 1000;
  }

  /** An exact last poll (held in memory) before this is silence. */
  httpCutoff(now = Date.now()): Date {
    return new Date(now - this.httpSilenceMs);
  }

  /** A stored last poll before this is silence (the write lag allowed for). */
  storedHttpCutoff(now = Date.now()): Date {
    return new Date(now - this.httpSilenceMs - this.storedLagMs);
  }

  /** The rule on a stored agent's connection facts. */
  isConnected(c: ConnectionFacts | null | undefined, now = Date.now()): boolean {
    return connectedAt(c, this.storedHttpCutoff(now));
  }

  /** The rule as a filter on stored agents. */
  connectedFilter(now = Date.now()): FilterQuery<unknown> {
    return {
      'connection.connected': true,
      $or: [{ 'connection.transport': { $ne: 'http' } }, { 'connection.lastSeenAt': { $gte: this.storedHttpCutoff(now) } }],
    };
  }

  /**
   * HTTP agents stored as connected that the serving replica `replicaId` has heard nothing from
   * for the allowed silence (by their stored poll: check what is held in memory before acting).
   */
  silentOwnHttpFilter(replicaId: string, now = Date.now()): FilterQuery<unknown> {
    return { ...SILENT_HTTP, 'connection.replicaId': replicaId, 'connection.lastSeenAt': { $lt: this.httpCutoff(now) } };
  }

  /**
   * HTTP agents stored as connected that no live replica sweeps (the one serving them is gone):
   * silent past the stored cutoff plus REPLICA_TIMEOUT_SECONDS, by when a live replica would have
   * swept them itself. What the fleet-wide sweep marks disconnected.
   */
  silentOrphanHttpFilter(now = Date.now()): FilterQuery<unknown> {
    return { ...SILENT_HTTP, 'connection.lastSeenAt': { $lt: new Date(this.storedHttpCutoff(now).getTime() - this.replicaTimeoutMs) } };
  }
}

const SILENT_HTTP = { 'connection.connected': true, 'connection.transport': 'http' } as const;
