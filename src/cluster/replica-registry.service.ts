import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PeriodicTask } from '../common/periodic-task';
import { buildInfo } from '../version/build-info';
import { RebalanceState, ReplicaRecord } from './cluster.schemas';
import { ClusterRecordsRepository } from './cluster-records.repository';
import { EventBus } from './event-bus';
import { LeaseService } from './lease.service';

/** The lease under which one replica declares the silent ones gone. */
export const REPLICA_GC_LEASE = 'replica-gc';

/** What a replica serves, as its heartbeat records it (the OpAMP gateway's counts). */
export interface ReplicaLoad {
  /** Every agent served: live sockets and recently polling HTTP agents. */
  agents: number;
  /** WebSocket and gRPC agents only (the ones a rebalance can move). */
  movableAgents: number;
  rebalance: RebalanceState;
}

/** The replicas as read at a heartbeat, with whether each is past the timeout. */
export type ReplicaView = ReplicaRecord & { silentSeconds: number; gone: boolean };

/**
 * Each replica records itself (ports, version, agents served, bus state, leases held) every
 * REPLICA_HEARTBEAT_SECONDS, renewing its leases on the same beat. The holder of the
 * `replica-gc` lease declares a replica silent for REPLICA_TIMEOUT_SECONDS gone: the gone handler
 * runs (the OpAMP gateway marks the WebSocket and gRPC agents recorded on it disconnected: a
 * crashed or partitioned replica's agents reconnect elsewhere, none stays "connected" forever)
 * and its record is deleted. This module knows no feature module; they register with it.
 */
@Injectable()
export class ReplicaRegistry implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaRegistry.name);
  private readonly startedAt = new Date();
  private ports = { api: 0, opamp: 0, grpc: 0 };
  private load: () => ReplicaLoad;
  private beatHandler: (replicas: ReplicaView[]) => void = () => undefined;
  /** The replicas as read at the last heartbeat (this one's own record included). */
  private seen: ReplicaView[] = [];
  private goneHandler: (replicaId: string) => Promise<number> = async () => 0;
  /** One beat at a time: a slow database must not pile heartbeats up (heartbeat() never throws). */
  private readonly beats = new PeriodicTask(
    () => this.heartbeat(),
    (e) => this.logger.error(`replica heartbeat failed: ${e}`),
  );

  constructor(
    private readonly records: ClusterRecordsRepository,
    private readonly leases: LeaseService,
    private readonly bus: EventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const since = this.startedAt;
    this.load = () => ({ agents: 0, movableAgents: 0, rebalance: { state: 'idle', since } });
  }

  /** Tells the registry what this replica serves (the OpAMP gateway's counts and drain state). */
  setLoadProbe(probe: () => ReplicaLoad): void {
    this.load = probe;
  }

  /**
   * Called after each heartbeat with every replica's record as just read (the OpAMP gateway judges
   * its fair share of agents from them). Must not throw or block: the next beat waits for it.
   */
  onHeartbeat(handler: (replicas: ReplicaView[]) => void): void {
    this.beatHandler = handler;
  }

  /** The other replicas, as read at the last heartbeat, that are not past the timeout. */
  livePeers(): ReplicaView[] {
    return this.seen.filter((r) => r._id !== this.config.replicaId && !r.gone);
  }

  /**
   * What to do with a replica declared gone before its record is deleted (the OpAMP gateway marks
   * the agents it held disconnected); returns how many agents that concerned, for the log.
   */
  onReplicaGone(handler: (replicaId: string) => Promise<number>): void {
    this.goneHandler = handler;
  }

  /** Records the ports actually listened on (known only after listen) and announces the replica at once. */
  async announce(ports: { api: number; opamp: number; grpc: number }): Promise<void> {
    this.ports = ports;
    await this.tick();
  }

  onApplicationBootstrap(): void {
    this.leases.want(REPLICA_GC_LEASE);
    this.beats.start(this.config.cluster.heartbeatSeconds * 1000);
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Stops the beats and waits for one in progress before the record is deleted.
    await this.beats.stop();
    await this.leases.releaseAll();
    await this.records.deleteReplica(this.config.replicaId).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.beats.stop();
  }

  /** One heartbeat: record, renew leases, and (as the gc lease holder) sweep the gone. Never throws. */
  tick(): Promise<void> {
    return this.beats.runNow();
  }

  /** Replicas as recorded, with whether each is past the timeout. */
  async list(): Promise<ReplicaView[]> {
    return this.view(await this.records.replicas());
  }

  private view(docs: ReplicaRecord[]): ReplicaView[] {
    const now = Date.now();
    return docs
      .map((d) => {
        const silentSeconds = Math.max(0, Math.round((now - d.heartbeatAt.getTime()) / 1000));
        return { ...d, silentSeconds, gone: silentSeconds >= this.config.cluster.timeoutSeconds };
      })
      .sort((a, b) => a._id.localeCompare(b._id));
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.leases.renewAll();
      const load = this.load();
      const record: ReplicaRecord = {
        _id: this.config.replicaId,
        host: hostname(),
        ports: this.ports,
        version: buildInfo().version,
        startedAt: this.startedAt,
        heartbeatAt: new Date(),
        agents: load.agents,
        movableAgents: load.movableAgents,
        rebalance: load.rebalance,
        bus: { kind: this.bus.kind, connected: this.bus.connected },
        leases: this.leases.heldNames(),
      };
      // Only this replica writes its own record, so a plain replace (upsert) is safe on every engine.
      await this.records.saveReplica(record);
      const docs = await this.records.replicas();
      this.seen = this.view(docs);
      try {
        this.beatHandler(this.seen);
      } catch (e) {
        this.logger.warn(`heartbeat handler failed: ${e instanceof Error ? e.message : e}`);
      }
      await this.leases.runIfHolder(REPLICA_GC_LEASE, (lease) => this.sweepGone(lease.signal, docs));
    } catch (e) {
      this.logger.warn(`replica heartbeat failed: ${e instanceof Error ? e.message : e}`);
    }
  }

  private async sweepGone(signal: AbortSignal, docs: ReplicaRecord[]): Promise<void> {
    const cutoff = new Date(Date.now() - this.config.cluster.timeoutSeconds * 1000);
    const silent = docs.filter((r) => r._id !== this.config.replicaId && r.heartbeatAt < cutoff);
    for (const r of silent) {
      if (signal.aborted) return;
      const n = await this.goneHandler(r._id);
      await this.records.deleteReplica(r._id, r.heartbeatAt);
      this.logger.warn(`replica ${r._id} silent since ${r.heartbeatAt.toISOString()}: declared gone, ${n} of its agents marked disconnected`);
    }
  }
}
