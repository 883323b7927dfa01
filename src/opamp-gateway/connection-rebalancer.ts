import { Inject, Injectable, Logger } from '@nestjs/common';
import { comparableOwnCount, fairShareSurplus, OwnCount } from '../cluster/fair-share';
import { ReplicaRegistry, ReplicaView } from '../cluster/replica-registry.service';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ConnectionDrainer } from './connection-drainer';
import { OverShareGate, OverShareGateSettings } from './over-share-gate';

/**
 * How old a replica's record may be before the fair share (and the over-share gate) distrusts it:
 * two beats and a second (a replica that missed a beat may hold counts that moved since), and
 * before it counts as gone (REPLICA_TIMEOUT_SECONDS).
 */
export function shareRecordAges(config: AppConfig): OverShareGateSettings {
  return { staleAfterMs: 2 * config.cluster.heartbeatSeconds * 1000 + 1000, goneAfterMs: config.cluster.timeoutSeconds * 1000 };
}

/**
 * Spreads agents over the replicas on a scale-up: at each registry heartbeat this replica judges
 * its fair share from the live replicas' movable counts (cluster/fair-share.ts) and hands its
 * surplus to the drainer, which closes that many connections over REBALANCE_WINDOW_SECONDS so the
 * agents reconnect through the load balancer. Not while a drain runs; after one, not before
 * REBALANCE_COOLDOWN_SECONDS have passed and every other replica has recorded itself since (the
 * counts must show where the moved agents went). While a round sheds, the OverShareGate has
 * admission control refuse new WebSocket and gRPC agents, so that the shed ones land elsewhere.
 */
@Injectable()
export class ConnectionRebalancer {
  private readonly logger = new Logger('ConnectionRebalancer');
  /** Its own movable count at each beat, kept for REPLICA_TIMEOUT_SECONDS (see comparableOwnCount). */
  private readings: OwnCount[] = [];

  constructor(
    private readonly drainer: ConnectionDrainer,
    private readonly gate: OverShareGate,
    private readonly replicas: ReplicaRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  start(): void {
    this.replicas.onHeartbeat((seen) => this.judge(seen));
  }

  /** One judgement on the records just read; returns how many connections it set out to shed. */
  judge(seen: ReplicaView[], now = Date.now()): number {
    const settings = this.config.cluster.rebalance;
    const views = seen.map((r) => ({ id: r._id, movableAgents: r.movableAgents, heartbeatAt: r.heartbeatAt, leaving: r.rebalance?.reason === 'shutdown' }));
    // Every beat, drain or not: the gate's off conditions (alone, stale, no room) follow the latest records.
    this.gate.observe(views);
    const { goneAfterMs } = shareRecordAges(this.config);
    const current = this.drainer.movableConnections;
    this.readings = [...this.readings.filter((r) => now - r.at < goneAfterMs), { at: now, n: current }];
    const peers = seen.filter((r) => r._id !== this.config.replicaId && !r.gone && r.rebalance?.reason !== 'shutdown');
    const peersRecordedAt = peers.length ? Math.min(...peers.map((r) => r.heartbeatAt.getTime())) : undefined;
    const mine = comparableOwnCount(current, this.readings, peersRecordedAt);
    if (!settings.enabled || this.drainer.shuttingDown) this.gate.close();
    if (!settings.enabled || this.drainer.draining || this.drainer.shuttingDown) return 0;
    const ended = this.drainer.lastEndedAt?.getTime();
    if (ended !== undefined) {
      if (now - ended < settings.cooldownSeconds * 1000) return 0;
      if (seen.some((r) => r._id !== this.config.replicaId && !r.gone && r.heartbeatAt.getTime() <= ended)) return 0;
    }
    const verdict = fairShareSurplus(
      this.config.replicaId,
      mine,
      views,
      { tolerancePercent: settings.tolerancePercent, toleranceMinAgents: settings.toleranceMinAgents, ...shareRecordAges(this.config) },
      now,
    );
    if (verdict.shed <= 0) return 0;
    this.logger.log(
      `holding ${verdict.shed + verdict.share + verdict.tolerance} of ${verdict.total} movable agents on ${verdict.live} replicas (share ${verdict.share} + tolerance ${verdict.tolerance}): asking ${verdict.shed} to reconnect elsewhere over ${settings.windowSeconds} s, refusing new ones meanwhile`,
    );
    // New agents are refused while the surplus goes (those just shed would otherwise come straight back
    // through a round-robin balancer), for the window and the cooldown at most.
    this.gate.open({
      ceiling: verdict.share + verdict.tolerance,
      surplus: verdict.shed,
      until: now + (settings.windowSeconds + settings.cooldownSeconds) * 1000,
    });
    void this.drainer.drain('rebalance', verdict.shed, settings.windowSeconds * 1000).then(() => this.replicas.tick());
    return verdict.shed;
  }
}
