import type { ConfigShape } from './config-drift';
import type { OwnMetricsDestination } from '../telemetry/own-metrics-offer';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AgentsService, StoredAgentSummary } from '../agents/agents.service';
import type { CommandType, CustomMessage } from '../gen/opamp/v1/opamp_pb';
import type { DesiredMemo, PackageAccess, PackagesOfferMemo } from './agent-delivery';
import type { TransportKind } from './agent-connection';
import { ConnectionRegistry } from './connection-registry';
import { httpSilenceMs } from '../agents/agent-liveness';

/** What this replica remembers of an agent between its messages. */
export interface SessionState {
  lastSeq: bigint;
  /** The sequence number for which ReportFullState was last requested (never ask twice for one). */
  fullStateRequestedAt?: bigint;
  /** The components hash for which ReportAvailableComponents was last requested. */
  componentsRequestedFor?: string;
  capabilities: bigint;
  /** What the server holds for the agent (database + this session). */
  holds: StoredAgentSummary;
  /**
   * Loaded from the database for an agent seen before (a new connection, or this process is new):
   * the sequence number last taken from it. A first message that does not follow it means
   * reports the server never stored (sent to a server that died before writing them).
   */
  storedSeq?: bigint;
  fromStore?: boolean;
  /** Connection id last written to the database for this agent. */
  persistedConnectionId?: string;
  /** When this HTTP agent's current run of polls began. */
  httpConnectedAt?: Date;
  lastSeenAt: number;
  /** Config hash sent during this session (hash-gated: never sent twice). */
  sentConfigHash?: string;
  /** Pipelines of the effective config the agent last reported in this session (for ConfigDrift). */
  effectiveShape?: ConfigShape;
  /** Pipelines of the desired config, kept with the hash they are of. */
  desiredShape?: { hash: string; shape: ConfigShape | undefined };
  /** all_packages_hash sent during this session (hash-gated like configs). */
  sentPackagesHash?: string;
  /** How the agent reaches package downloads (from the connection of its last message). */
  packageAccess?: PackageAccess;
  /** The packages offer last made for it, kept while what it is made of is the same. */
  packagesOffer?: PackagesOfferMemo;
  /**
   * HTTP cannot push: the latest pending command and custom message wait for the next poll. The
   * command is stored on the agent too (claimed once by whichever replica the agent polls).
   */
  pendingCommand?: { id: string; type: CommandType; at: number };
  pendingCustomMessage?: CustomMessage;
  /** Desired state last derived for this agent, kept while nothing it depends on changes. */
  desired?: DesiredMemo;
  /** This server's own-metrics receiver as the agent's default destination (telemetry module). */
  ownMetrics?: OwnMetricsDestination;
}

function emptySummary(): StoredAgentSummary {
  return {
    capabilities: 0,
    hasDescription: false,
    hasHealth: false,
    hasEffectiveConfig: false,
    hasRemoteConfigStatus: false,
    hasPackageStatuses: false,
    hasConnectionSettingsStatus: false,
  };
}

/**
 * The agents this replica serves and what it remembers of each between messages: agents on a
 * live WebSocket or gRPC connection, and HTTP agents that polled recently (HTTP has no
 * connection, so its state is kept by uid and dropped when the agent falls silent).
 */
@Injectable()
export class SessionStore {
  private readonly states = new Map<string, SessionState>();
  /** Agents whose last message was lost to a database outage: their next answer asks for full state. */
  private readonly reportAgain = new Set<string>();

  constructor(
    private readonly agents: AgentsService,
    private readonly registry: ConnectionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get(uid: string): SessionState | undefined {
    return this.states.get(uid);
  }

  uids(): string[] {
    return [...this.states.keys()];
  }

  /** Starts the session of `uid` from what the database holds (or from nothing, for a new agent). */
  async load(uid: string): Promise<SessionState> {
    const summary = await this.agents.summary(uid);
    const state: SessionState = {
      lastSeq: -1n,
      capabilities: BigInt(summary?.capabilities ?? 0),
      // The uid too for a new agent: a rollout's overlay is decided by uid.
      holds: summary ?? { ...emptySummary(), _id: uid },
      fromStore: !!summary,
      storedSeq: summary?.connection?.sequenceNum === undefined ? undefined : BigInt(summary.connection.sequenceNum),
      httpConnectedAt: summary?.connection?.connected && summary.connection.transport === 'http' ? summary.connection.connectedAt : undefined,
      lastSeenAt: Date.now(),
      // A command another replica stored for this HTTP agent's next poll.
      pendingCommand: summary?.pendingCommand
        ? { id: summary.pendingCommand.id, type: summary.pendingCommand.type as CommandType, at: new Date(summary.pendingCommand.at).getTime() }
        : undefined,
    };
    this.states.set(uid, state);
    return state;
  }

  /** The session of `uid`, or a look at the stored agent (not kept: it is no session of this replica). */
  async peek(uid: string): Promise<SessionState | undefined> {
    const s = this.states.get(uid);
    if (s) return s;
    const summary = await this.agents.summary(uid);
    return summary ? { lastSeq: -1n, capabilities: BigInt(summary.capabilities), holds: summary, lastSeenAt: 0 } : undefined;
  }

  forget(uid: string): void {
    this.states.delete(uid);
  }

  /** The agent's last message was not stored (database outage): forget it and ask it for everything next time. */
  forgetLostReport(uid: string): void {
    this.states.delete(uid);
    this.reportAgain.add(uid);
  }

  /** True once for an agent whose last report was lost to an outage. */
  takeReportAgain(uid: string): boolean {
    return this.reportAgain.delete(uid);
  }

  /** Drops remembered state of HTTP agents that stopped polling, so memory follows the live fleet. */
  evictSilent(now = Date.now()): void {
    const cutoff = now - this.httpSilenceMs();
    for (const [uid, s] of this.states) {
      if (s.lastSeenAt < cutoff && !this.registry.get(uid)) this.states.delete(uid);
    }
  }

  /** Agents this replica serves now, by transport (HTTP agents: polled within the last 3 intervals). */
  connectedByTransport(): Record<TransportKind, number> {
    const counts = { websocket: 0, http: 0, grpc: 0 };
    for (const [, conn] of this.registry.all()) counts[conn.transport]++;
    const cutoff = Date.now() - this.httpSilenceMs();
    for (const [uid, s] of this.states) if (!this.registry.get(uid) && s.lastSeenAt >= cutoff) counts.http++;
    return counts;
  }

  /** True while this replica serves the agent (live socket or recent polls). */
  isActive(uid: string): boolean {
    return this.states.has(uid);
  }

  /** Number of agents this replica currently serves (live sockets and recently polling HTTP agents). */
  get activeAgents(): number {
    return this.states.size;
  }

  /** An HTTP agent silent this long has missed 3 polls: it is disconnected (the one rule: agents/agent-liveness.ts). */
  httpSilenceMs(): number {
    return httpSilenceMs(this.config.opamp.heartbeatIntervalSeconds);
  }
}
