import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RebalanceState, ShedReason } from '../cluster/cluster.schemas';
import { ReplicaRegistry } from '../cluster/replica-registry.service';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AgentCapabilities } from '../gen/opamp/v1/opamp_pb';
import type { AgentConnection } from './agent-connection';
import { ConnectionRegistry } from './connection-registry';
import { HANDOVER_MS, OpampMessageHandler } from './opamp-message-handler';
import { OpampMetrics } from './opamp-metrics';
import { SessionState, SessionStore } from './session-store';

/** A drain closes connections at most this often: the window is cut into ticks of this length. */
export const DRAIN_TICK_MS = 250;

const REPORTS_REMOTE_CONFIG = BigInt(AgentCapabilities.AgentCapabilities_ReportsRemoteConfig);

/**
 * True while the agent is taking a config this session sent it (it said APPLYING, or it reports
 * remote config status and has not yet answered the one sent): a drain leaves it for later.
 */
export function midConfigApply(s: SessionState | undefined): boolean {
  if (!s) return false;
  const reported = s.holds.remoteConfigStatus;
  if (reported?.status === 'APPLYING') return true;
  return !!s.sentConfigHash && (s.capabilities & REPORTS_REMOTE_CONFIG) !== 0n && reported?.lastRemoteConfigHash !== s.sentConfigHash;
}

interface Drain {
  reason: ShedReason;
  target: number;
  shed: number;
  since: Date;
  cancelled: boolean;
  done: Promise<number>;
}

const DETAILS: Record<ShedReason, string> = {
  rebalance: 'rebalancing agents across replicas; reconnect',
  shutdown: 'server shutting down',
};

/**
 * The one way this replica closes agent connections on purpose, spread over a window so that the
 * agents reconnect (through the load balancer, to other replicas) gradually: a rebalance sheds its
 * surplus over the fair share, a shutdown sheds everything. Each tick closes the connections due
 * by then (target × elapsed ticks / ticks), oldest connection first (the ones that arrived last,
 * often just moved here, stay), leaving agents in the middle of applying a config for later; the
 * last tick of a shutdown takes those too. WebSocket closes with 1001, gRPC ends with UNAVAILABLE.
 */
@Injectable()
export class ConnectionDrainer {
  private readonly logger = new Logger('ConnectionDrainer');
  private current?: Drain;
  private idleSince = new Date();
  private lastDrainEndedAt?: Date;
  private shutdown?: Promise<void>;
  private shutdownDrain?: Drain;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly sessions: SessionStore,
    private readonly handler: OpampMessageHandler,
    private readonly metrics: OpampMetrics,
    private readonly replicas: ReplicaRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** For the replica record: idle since when, or draining `shed` of `target`. */
  get state(): RebalanceState {
    // Once shutting down, it stays so to the end (the other replicas leave its agents out of their shares).
    const d = this.current ?? this.shutdownDrain;
    return d ? { state: 'draining', reason: d.reason, shed: d.shed, target: d.target, since: d.since } : { state: 'idle', since: this.idleSince };
  }

  get draining(): boolean {
    return this.current !== undefined;
  }

  /** When the last drain ended (a rebalance waits for the counts to follow it). */
  get lastEndedAt(): Date | undefined {
    return this.lastDrainEndedAt;
  }

  get shuttingDown(): boolean {
    return this.shutdown !== undefined;
  }

  /** WebSocket and gRPC connections speaking for an agent now (the load share counts these). */
  get movableConnections(): number {
    return this.registry.connections;
  }

  /**
   * Closes `count` movable connections spread over `windowMs` (all in one go for 0). A drain in
   * progress is cancelled (a shutdown overrides a rebalance). Resolves with how many were closed.
   */
  drain(reason: ShedReason, count: number, windowMs: number): Promise<number> {
    if (this.current) this.current.cancelled = true;
    const d: Drain = { reason, target: Math.max(0, count), shed: 0, since: new Date(), cancelled: false, done: Promise.resolve(0) };
    this.current = d;
    if (reason === 'shutdown') this.shutdownDrain = d;
    d.done = this.run(d, windowMs).finally(() => {
      if (this.current === d) {
        this.current = undefined;
        this.idleSince = new Date();
        this.lastDrainEndedAt = this.idleSince;
      }
    });
    return d.done;
  }

  /**
   * How long the shutdown drain lasts: SHUTDOWN_DRAIN_SECONDS, at most half the shutdown grace
   * (the sessions' wind-down and the final writes need the rest); 0 when no other replica is live
   * (as last read by the registry), since the agents then have nowhere to go. The handover wait
   * (HANDOVER_MS) comes on top.
   */
  shutdownWindowMs(): number {
    const peers = this.replicas.livePeers().filter((r) => r.rebalance?.reason !== 'shutdown');
    if (peers.length === 0) return 0;
    return Math.min(this.config.shutdownDrainSeconds, this.config.shutdownGraceSeconds / 2) * 1000;
  }

  /**
   * The shutdown drain (once, whoever asks first; the listeners have stopped accepting): every
   * movable connection over shutdownWindowMs(); closes after it are recorded in the one bulk
   * write of the shutdown.
   */
  drainForShutdown(): Promise<void> {
    this.shutdown ??= (async () => {
      const windowMs = this.shutdownWindowMs();
      if (windowMs <= 0) this.handler.recordClosesInBulk();
      const target = this.registry.connections;
      const shed = this.drain('shutdown', target, windowMs);
      // The other replicas learn at once that this one is leaving (its agents count for nobody's share).
      void this.replicas.tick();
      const closed = await shed;
      // The agents closed last reconnect elsewhere now: the bulk write waits until the replicas
      // they reached have recorded them (see OpampMessageHandler.connectionClosed).
      if (closed > 0 && windowMs > 0) await new Promise((r) => setTimeout(r, HANDOVER_MS));
      this.handler.recordClosesInBulk();
      if (target > 0) this.logger.log(`shutdown: ${closed} agent connections asked to reconnect elsewhere over ${windowMs} ms`);
    })();
    return this.shutdown;
  }

  private async run(d: Drain, windowMs: number): Promise<number> {
    if (d.target === 0) return 0;
    const ticks = Math.max(1, Math.floor(windowMs / DRAIN_TICK_MS));
    // Oldest first; the order is fixed at the start, and connections opened since are not candidates.
    let queue = this.movable().sort((a, b) => a.connectedAt.getTime() - b.connectedAt.getTime() || a.id.localeCompare(b.id));
    const started = Date.now();
    for (let tick = 0; tick < ticks; tick++) {
      if (tick > 0) await new Promise((r) => setTimeout(r, Math.max(0, started + tick * DRAIN_TICK_MS - Date.now())));
      if (d.cancelled || d.shed >= d.target) break;
      const last = tick === ticks - 1;
      const dueBy = Math.min(d.target, Math.ceil((d.target * (tick + 1)) / ticks));
      const later: AgentConnection[] = [];
      let i = 0;
      while (i < queue.length && d.shed < dueBy) {
        const conn = queue[i++];
        if (!this.stillOpen(conn)) continue;
        if (!(last && d.reason === 'shutdown') && midConfigApply(this.sessions.get(conn.uid!))) {
          later.push(conn);
          continue;
        }
        conn.shed = true;
        conn.goAway!(DETAILS[d.reason]);
        d.shed++;
        this.metrics.connectionsShed.inc({ reason: d.reason });
      }
      // Those mid-apply go first next tick; the rest keep their order.
      queue = [...later, ...queue.slice(i)];
      if (queue.length === 0) break;
    }
    return d.shed;
  }

  private stillOpen(conn: AgentConnection): boolean {
    return conn.uid !== undefined && this.registry.get(conn.uid) === conn;
  }

  private movable(): AgentConnection[] {
    const seen = new Set<AgentConnection>();
    for (const [, conn] of this.registry.all()) if (conn.goAway && conn.transport !== 'http') seen.add(conn);
    return [...seen];
  }
}
