/**
 * How many movable agents (WebSocket and gRPC: HTTP agents poll any replica and cannot be moved)
 * one replica should ask to reconnect elsewhere so that the live replicas hold about the same.
 * Pure: the replica registry's records in, a number out.
 */

/** One replica as its last record tells it. */
export interface ReplicaShareView {
  id: string;
  /** WebSocket and gRPC agents it held at its last heartbeat; undefined when its record does not say (an older version). */
  movableAgents?: number;
  heartbeatAt: Date;
  /** It is shutting down: it takes no agents and its own will go to the others. */
  leaving?: boolean;
}

export interface FairShareSettings {
  /** Allowed excess over the share, in percent of the share. */
  tolerancePercent: number;
  /** Allowed excess over the share, at least this many agents. */
  toleranceMinAgents: number;
  /** A record older than this is not trusted (counts may have moved since). */
  staleAfterMs: number;
  /** A record older than this is a replica gone (REPLICA_TIMEOUT_SECONDS): not counted at all. */
  goneAfterMs: number;
}

export interface FairShareVerdict {
  /** Agents to shed now (0 when nothing should move). */
  shed: number;
  /** Why nothing is shed, when nothing is. */
  hold?: 'alone' | 'stale' | 'within-tolerance' | 'leaving';
  /** ceil(total / live). */
  share: number;
  total: number;
  live: number;
  tolerance: number;
}

/**
 * This replica's surplus: max(0, mine − ceil(total / live) − tolerance), with tolerance the larger
 * of `tolerancePercent` of the share and `toleranceMinAgents`. `mine` is this replica's own count
 * now (fresher than its record). Nothing is shed when fewer than 2 replicas are live, when this
 * one is leaving, or when any live replica's count is stale or unknown.
 */
export function fairShareSurplus(
  selfId: string,
  mine: number,
  replicas: readonly ReplicaShareView[],
  settings: FairShareSettings,
  now: number,
): FairShareVerdict {
  const others = replicas.filter((r) => r.id !== selfId && now - r.heartbeatAt.getTime() < settings.goneAfterMs && !r.leaving);
  const live = others.length + 1;
  const verdict = (hold: FairShareVerdict['hold'], total = mine, share = mine, tolerance = 0): FairShareVerdict => ({
    shed: 0,
    hold,
    share,
    total,
    live,
    tolerance,
  });
  if (replicas.some((r) => r.id === selfId && r.leaving)) return verdict('leaving');
  if (others.length === 0) return verdict('alone');
  if (others.some((r) => r.movableAgents === undefined || now - r.heartbeatAt.getTime() >= settings.staleAfterMs)) return verdict('stale');
  const total = others.reduce((n, r) => n + (r.movableAgents ?? 0), mine);
  const share = Math.ceil(total / live);
  const tolerance = Math.max(settings.toleranceMinAgents, Math.ceil((share * settings.tolerancePercent) / 100));
  const shed = Math.max(0, mine - share - tolerance);
  return shed > 0 ? { shed, share, total, live, tolerance } : verdict('within-tolerance', total, share, tolerance);
}

/** One reading of this replica's own movable count (ms since the epoch). */
export interface OwnCount {
  at: number;
  n: number;
}

/**
 * This replica's count to weigh against the others' records: the lower of its count now and its
 * count as of the oldest of those records (the latest reading taken at or before it, else the
 * oldest reading kept). While agents arrive everywhere at once (a ramp, a reconnect storm), a
 * count taken now against records up to a beat old shows a surplus that is only that beat's
 * growth; a replica that did gain agents since still sheds them at a later beat.
 */
export function comparableOwnCount(current: number, readings: readonly OwnCount[], peersRecordedAt: number | undefined): number {
  if (peersRecordedAt === undefined || readings.length === 0) return current;
  let then = readings[0];
  for (const r of readings) if (r.at <= peersRecordedAt && r.at >= then.at) then = r;
  return Math.min(current, then.n);
}
