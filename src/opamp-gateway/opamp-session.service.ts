import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Agent, StoredConnection } from '../agents/agent.schema';
import {
  bigToPlain,
  componentsToStored,
  configMapToStored,
  connectionSettingsStatusToStored,
  descriptionToStored,
  healthToStored,
  packageStatusesToStored,
  remoteConfigStatusToStored,
} from '../agents/agent-report.mapper';
import { AgentsService, StoredAgentSummary } from '../agents/agents.service';
import {
  AgentCapabilities as Cap,
  AgentToServer,
  AgentToServerFlags,
  ServerErrorResponseType,
  ServerToAgent,
  ServerToAgentFlags,
} from '../gen/opamp/v1/opamp_pb';
import { AgentConnection } from './agent-connection';
import { ConnectionRegistry } from './connection-registry';
import { hasCapability } from './protocol/capabilities';
import { newUuidV7, uidToText } from './protocol/instance-uid';
import { MalformedMessageError } from './protocol/opamp-codec';
import { buildErrorResponse, buildServerToAgent } from './protocol/server-to-agent.builder';

/** What this replica remembers of an agent between its messages. */
interface SessionState {
  lastSeq: bigint;
  /** The sequence number for which ReportFullState was last requested (never ask twice for one). */
  fullStateRequestedAt?: bigint;
  /** The components hash for which ReportAvailableComponents was last requested. */
  componentsRequestedFor?: string;
  capabilities: bigint;
  /** What the server holds for the agent (database + this session). */
  holds: StoredAgentSummary;
  /** Connection id last written to the database for this agent. */
  persistedConnectionId?: string;
  /** When this HTTP agent's current run of polls began. */
  httpConnectedAt?: Date;
  lastSeenAt: number;
}

/** The result of handling one AgentToServer: the answer, and whether the peer should be dropped. */
export interface HandleResult {
  reply: ServerToAgent;
}

const FULL_STATE_PARTS: [Cap, keyof StoredAgentSummary][] = [
  [Cap.AgentCapabilities_ReportsStatus, 'hasDescription'],
  [Cap.AgentCapabilities_ReportsHealth, 'hasHealth'],
  [Cap.AgentCapabilities_ReportsEffectiveConfig, 'hasEffectiveConfig'],
  [Cap.AgentCapabilities_ReportsRemoteConfig, 'hasRemoteConfigStatus'],
  [Cap.AgentCapabilities_ReportsPackageStatuses, 'hasPackageStatuses'],
  [Cap.AgentCapabilities_ReportsConnectionSettingsStatus, 'hasConnectionSettingsStatus'],
];

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function sameAttributes(a: { key: string; value: unknown }[] | undefined, b: { key: string; value: unknown }[]): boolean {
  if (!a) return true;
  const norm = (x: { key: string; value: unknown }[]) =>
    JSON.stringify([...x].sort((p, q) => (p.key < q.key ? -1 : 1)).map((kv) => [kv.key, kv.value]));
  return norm(a) === norm(b);
}

/**
 * The transport-agnostic OpAMP session: every decoded AgentToServer from any transport comes
 * here with its connection handle, and the answer goes back. Rules: shared/opamp/server-behaviour.md.
 */
@Injectable()
export class OpampSessionService {
  private readonly logger = new Logger('OpampSession');
  private readonly states = new Map<string, SessionState>();

  constructor(
    private readonly agents: AgentsService,
    private readonly registry: ConnectionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Answers one message. Throws only for transport-level trouble; protocol errors become error_response. */
  async handle(conn: AgentConnection, msg: AgentToServer): Promise<ServerToAgent> {
    let uid: string;
    try {
      uid = uidToText(msg.instanceUid);
    } catch (err) {
      return buildErrorResponse(msg.instanceUid, ServerErrorResponseType.ServerErrorResponseType_BadRequest, (err as Error).message);
    }
    const now = new Date();
    const withCapabilities = conn.transport === 'http' || !conn.capabilitiesSent;

    // A second live connection presenting different identifying attributes under this uid is a
    // clone (a copied disk, a duplicated pod): it gets a uid of its own and nothing is stored.
    const holder = this.registry.get(uid);
    if (holder && holder !== conn && holder.transport !== 'http' && msg.agentDescription) {
      const state = await this.stateFor(uid);
      const identifying = descriptionToStored(msg.agentDescription).identifying;
      if (state && !sameAttributes(state.holds.identifying, identifying)) {
        this.logger.warn(`agent ${uid} connected twice with different identifying attributes; assigning the newcomer a new uid`);
        conn.capabilitiesSent = true;
        return buildServerToAgent({ instanceUid: msg.instanceUid, withCapabilities, newInstanceUid: newUuidV7() });
      }
    }

    // RequestInstanceUid: answer with a new uid and keep everything under it from now on.
    let newUid: Uint8Array | undefined;
    if ((msg.flags & BigInt(AgentToServerFlags.AgentToServerFlags_RequestInstanceUid)) !== 0n) {
      newUid = newUuidV7();
      uid = uidToText(newUid);
    }

    if (conn.transport !== 'http') this.registry.bind(uid, conn);
    const known = newUid ? undefined : this.states.get(uid);
    const state = known ?? (await this.loadState(uid, msg.sequenceNum));
    const lacksState = !known;
    const gap = lacksState || msg.sequenceNum !== state.lastSeq + 1n;
    state.lastSeq = msg.sequenceNum;
    // An HTTP agent silent for 3 poll intervals was disconnected; this poll starts a new run.
    if (conn.transport === 'http' && state.lastSeenAt < now.getTime() - 3 * this.config.opamp.heartbeatIntervalSeconds * 1000) {
      state.httpConnectedAt = undefined;
    }
    state.lastSeenAt = now.getTime();
    if (msg.capabilities !== 0n) state.capabilities = msg.capabilities;

    const parts = await this.partsOf(msg, state);
    let flags = 0n;

    if (gap && state.fullStateRequestedAt !== msg.sequenceNum && this.missingPromisedState(state)) {
      flags |= BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState);
      state.fullStateRequestedAt = msg.sequenceNum;
    }
    if (msg.availableComponents && hasCapability(state.capabilities, Cap.AgentCapabilities_ReportsAvailableComponents)) {
      const h = hex(msg.availableComponents.hash);
      const sentComponents = Object.keys(msg.availableComponents.components).length > 0;
      if (!sentComponents && state.componentsRequestedFor !== h && !(await this.agents.knowsComponentCatalog(h))) {
        flags |= BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportAvailableComponents);
        state.componentsRequestedFor = h;
      }
    }

    const disconnecting = msg.agentDisconnect !== undefined;
    const connection = this.connectionFacts(conn, state, msg, now, !disconnecting);
    const heartbeatOnly = Object.keys(parts).length === 0 && state.persistedConnectionId === connection.connectionId && !disconnecting;
    if (heartbeatOnly) {
      this.agents.recordSeen(uid, now, connection.sequenceNum);
    } else {
      await this.agents.applyReport(uid, parts, connection);
      state.persistedConnectionId = disconnecting ? undefined : connection.connectionId;
    }

    if (disconnecting) this.forget(uid, conn);
    if (withCapabilities) conn.capabilitiesSent = true;
    return buildServerToAgent({ instanceUid: msg.instanceUid, withCapabilities, flags, newInstanceUid: newUid });
  }

  /** A WebSocket or gRPC connection ended: the agent is offline unless a newer connection holds it. */
  async connectionClosed(conn: AgentConnection): Promise<void> {
    const uid = conn.uid;
    if (!uid || conn.transport === 'http') return;
    if (!this.registry.release(uid, conn)) return;
    this.states.delete(uid);
    await this.agents.markDisconnected(uid, conn.id);
  }

  /** Answer for a message that could not be decoded. */
  malformed(err: MalformedMessageError): ServerToAgent {
    return buildErrorResponse(new Uint8Array(), ServerErrorResponseType.ServerErrorResponseType_BadRequest, err.message);
  }

  /** Drops remembered state of HTTP agents that stopped polling, so memory follows the live fleet. */
  evictSilent(now = Date.now()): void {
    const cutoff = now - 3 * this.config.opamp.heartbeatIntervalSeconds * 1000;
    for (const [uid, s] of this.states) {
      if (s.lastSeenAt < cutoff && !this.registry.get(uid)) this.states.delete(uid);
    }
  }

  /** True while this replica serves the agent (live socket or recent polls). */
  isActive(uid: string): boolean {
    return this.states.has(uid);
  }

  /** Number of agents this replica currently serves (live sockets and recently polling HTTP agents). */
  get activeAgents(): number {
    return this.states.size;
  }

  private forget(uid: string, conn: AgentConnection): void {
    this.states.delete(uid);
    if (conn.transport !== 'http') this.registry.release(uid, conn);
  }

  private async stateFor(uid: string): Promise<SessionState | undefined> {
    const s = this.states.get(uid);
    if (s) return s;
    const summary = await this.agents.summary(uid);
    return summary ? { lastSeq: -1n, capabilities: BigInt(summary.capabilities), holds: summary, lastSeenAt: 0 } : undefined;
  }

  private async loadState(uid: string, seq: bigint): Promise<SessionState> {
    const summary = await this.agents.summary(uid);
    const state: SessionState = {
      lastSeq: seq - 2n, // anything but seq - 1: a state loaded now is a gap by definition
      capabilities: BigInt(summary?.capabilities ?? 0),
      holds: summary ?? {
        capabilities: 0,
        hasDescription: false,
        hasHealth: false,
        hasEffectiveConfig: false,
        hasRemoteConfigStatus: false,
        hasPackageStatuses: false,
        hasConnectionSettingsStatus: false,
      },
      httpConnectedAt: summary?.connection?.connected && summary.connection.transport === 'http' ? summary.connection.connectedAt : undefined,
      lastSeenAt: Date.now(),
    };
    this.states.set(uid, state);
    return state;
  }

  /** True when the agent's capabilities promise a part the server does not hold. */
  private missingPromisedState(state: SessionState): boolean {
    return FULL_STATE_PARTS.some(([cap, held]) => hasCapability(state.capabilities, cap) && !state.holds[held]);
  }

  /** The parts present in the message, in stored form; updates what the session holds. */
  private async partsOf(msg: AgentToServer, state: SessionState): Promise<Partial<Agent>> {
    const parts: Partial<Agent> = {};
    const holds = state.holds;
    if (msg.capabilities !== 0n && Number(msg.capabilities) !== holds.capabilities) {
      parts.capabilities = Number(msg.capabilities);
      holds.capabilities = parts.capabilities;
    }
    if (msg.agentDescription) {
      parts.description = descriptionToStored(msg.agentDescription);
      holds.hasDescription = true;
      holds.identifying = parts.description.identifying;
    }
    if (msg.health) {
      parts.health = healthToStored(msg.health);
      holds.hasHealth = true;
    }
    if (msg.effectiveConfig) {
      parts.effectiveConfig = { configMap: configMapToStored(msg.effectiveConfig.configMap) };
      holds.hasEffectiveConfig = true;
    }
    if (msg.remoteConfigStatus) {
      parts.remoteConfigStatus = remoteConfigStatusToStored(msg.remoteConfigStatus);
      holds.hasRemoteConfigStatus = true;
    }
    if (msg.packageStatuses) {
      parts.packageStatuses = packageStatusesToStored(msg.packageStatuses);
      holds.hasPackageStatuses = true;
    }
    if (msg.connectionSettingsStatus) {
      parts.connectionSettingsStatus = connectionSettingsStatusToStored(msg.connectionSettingsStatus);
      holds.hasConnectionSettingsStatus = true;
    }
    if (msg.customCapabilities) parts.customCapabilities = [...msg.customCapabilities.capabilities];
    if (msg.availableComponents) {
      const h = hex(msg.availableComponents.hash);
      const components = msg.availableComponents.components;
      if (Object.keys(components).length > 0) await this.agents.storeComponentCatalog(h, componentsToStored(components));
      if (h !== holds.availableComponentsHash) {
        parts.availableComponentsHash = h;
        holds.availableComponentsHash = h;
      }
    }
    return parts;
  }

  private connectionFacts(conn: AgentConnection, state: SessionState, msg: AgentToServer, now: Date, connected: boolean): StoredConnection {
    let connectedAt = conn.connectedAt;
    if (conn.transport === 'http') {
      state.httpConnectedAt ??= now;
      connectedAt = state.httpConnectedAt;
    }
    return {
      connected,
      transport: conn.transport,
      remoteAddress: conn.remoteAddress,
      connectedAt,
      ...(connected ? {} : { disconnectedAt: now }),
      lastSeenAt: now,
      sequenceNum: bigToPlain(msg.sequenceNum),
      replicaId: this.config.replicaId,
      // HTTP agents have no connection; one id per replica lets a poll on another replica take over.
      connectionId: conn.transport === 'http' ? `http:${this.config.replicaId}` : conn.id,
    };
  }
}
