import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Agent, RemoteConfigTracking, StoredConnection } from '../agents/agent.schema';
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
import { DesiredStateService, isProblem } from '../desired-state/desired-state.service';
import { originText } from '../desired-state/config-precedence';
import { DesiredStateEvents } from '../common/desired-state-events';
import { describeDatabaseError, isDatabaseUnavailable } from '../common/database-errors';
import { agentSelectorTerms } from '../common/selectors/selector-terms';
import { PeriodicTask } from '../common/periodic-task';
import type { AgentView, DesiredConfig, DesiredConfigProblem, DesiredConnectionSettings } from '../desired-state/desired-state.types';
import {
  AgentCapabilities as Cap,
  AgentConfigFileSchema,
  AgentConfigMapSchema,
  AgentRemoteConfig,
  AgentRemoteConfigSchema,
  AgentToServer,
  AgentToServerFlags,
  CommandType,
  ConnectionSettingsOffers,
  CustomMessage,
  ServerErrorResponseType,
  ServerToAgent,
  ServerToAgentFlags,
} from '../gen/opamp/v1/opamp_pb';
import { AgentConnection } from './agent-connection';
import { ConnectionRegistry, MAX_UIDS_PER_CONNECTION } from './connection-registry';
import { buildOffers } from './connection-settings-offers';
import { httpSilenceMs } from '../agents/agent-liveness';
import { hasCapability } from '../protocol/capabilities';
import { newUuidV7, textToUid, uidToText } from '../protocol/instance-uid';
import { MalformedMessageError } from './protocol/opamp-codec';
import { checkReportLimits } from './protocol/report-limits';
import { unstorableReason } from './unstorable-report';
import { buildCommand, buildErrorResponse, buildServerToAgent, OutgoingParts } from './protocol/server-to-agent.builder';

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
  /** HTTP cannot push: the latest pending command and custom message wait for the next poll. */
  pendingCommand?: CommandType;
  pendingCustomMessage?: CustomMessage;
  /** Desired state last derived for this agent, kept while nothing it depends on changes. */
  desired?: DesiredMemo;
}

/**
 * What desired state said for one agent view. Labels, description and assignment are replaced
 * (never mutated) when they change, so identity tells whether the view is still the same.
 */
interface DesiredMemo {
  generation: number;
  labels: AgentView['labels'];
  description: AgentView['description'];
  assignedConfig: AgentView['assignedConfig'];
  capabilities: bigint;
  config: DesiredConfig | DesiredConfigProblem | undefined;
  settings: DesiredConnectionSettings | undefined;
  offer: ReturnType<typeof buildOffers>;
}

/** The remote config message of a desired config, made once and shared by every agent it goes to. */
const remoteConfigMessages = new WeakMap<DesiredConfig, AgentRemoteConfig>();

function remoteConfigMessage(desired: DesiredConfig): AgentRemoteConfig {
  let msg = remoteConfigMessages.get(desired);
  if (!msg) {
    msg = create(AgentRemoteConfigSchema, {
      configHash: desired.hash,
      config: create(AgentConfigMapSchema, {
        configMap: Object.fromEntries(desired.entries.map((e) => [e.fileName, create(AgentConfigFileSchema, { body: e.body, contentType: e.contentType })])),
      }),
    });
    remoteConfigMessages.set(desired, msg);
  }
  return msg;
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

/** The message field that carries each part of FULL_STATE_PARTS. */
const FULL_STATE_FIELDS: [Cap, keyof AgentToServer][] = [
  [Cap.AgentCapabilities_ReportsStatus, 'agentDescription'],
  [Cap.AgentCapabilities_ReportsHealth, 'health'],
  [Cap.AgentCapabilities_ReportsEffectiveConfig, 'effectiveConfig'],
  [Cap.AgentCapabilities_ReportsRemoteConfig, 'remoteConfigStatus'],
  [Cap.AgentCapabilities_ReportsPackageStatuses, 'packageStatuses'],
  [Cap.AgentCapabilities_ReportsConnectionSettingsStatus, 'connectionSettingsStatus'],
];

/** True when the message brings every part of its state the agent's capabilities promise. */
function carriesPromisedState(msg: AgentToServer, capabilities: bigint): boolean {
  return FULL_STATE_FIELDS.every(([cap, field]) => !hasCapability(capabilities, cap) || msg[field] !== undefined);
}

function sameAttributes(a: { key: string; value: unknown }[] | undefined, b: { key: string; value: unknown }[]): boolean {
  if (!a) return true;
  const norm = (x: { key: string; value: unknown }[]) =>
    JSON.stringify([...x].sort((p, q) => (p.key < q.key ? -1 : 1)).map((kv) => [kv.key, kv.value]));
  return norm(a) === norm(b);
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
 * The transport-agnostic OpAMP session: every decoded AgentToServer from any transport comes
 * here with its connection handle, and the answer goes back; pushes to connected agents start
 * here too. Rules: shared/opamp/server-behaviour.md.
 */
@Injectable()
export class OpampSessionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OpampSession');
  private readonly states = new Map<string, SessionState>();
  private readonly reconciler = new PeriodicTask(
    () => this.reconcile(),
    (e) => this.logger.error(`reconcile failed: ${e}`),
  );
  /** Agents whose last message was lost to a database outage: their next answer asks for full state. */
  private readonly reportAgain = new Set<string>();
  private pushScheduled = false;
  /** Set when shutdown begins: sessions closed by it are recorded in one bulk write, not one each. */
  private stopping = false;

  constructor(
    private readonly agents: AgentsService,
    private readonly registry: ConnectionRegistry,
    private readonly desired: DesiredStateService,
    private readonly events: DesiredStateEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.desired.changes.on('refreshed', () => this.schedulePushToConnected());
    this.events.on('changed', (c) => {
      for (const uid of c.agents ?? []) void this.agentChanged(uid).catch((e) => this.logger.error(`update of ${uid} failed: ${e}`));
    });
    this.reconciler.start(this.config.opamp.reconcileIntervalSeconds * 1000);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.reconciler.stop();
  }

  /**
   * Answers one message. Throws only for trouble of the server's own (the transport answers it
   * as retryable); protocol errors and reports the database can never store become a permanent
   * error_response BAD_REQUEST, so the agent does not retry them forever.
   */
  async handle(conn: AgentConnection, msg: AgentToServer): Promise<ServerToAgent> {
    try {
      return await this.answer(conn, msg);
    } catch (err) {
      const uidText = (() => {
        try {
          return uidToText(msg.instanceUid);
        } catch {
          return undefined;
        }
      })();
      if (isDatabaseUnavailable(err)) {
        // Nothing of this message was stored: the next one starts from the database and asks for everything again.
        if (uidText) {
          this.states.delete(uidText);
          this.reportAgain.add(uidText);
        }
        // Plain HTTP answers 503 + Retry-After (the transport does it); a live connection stays open and is told to retry.
        if (conn.transport === 'http') throw err;
        this.logger.warn(`database unavailable while answering ${uidText ?? 'an agent'}: ${describeDatabaseError(err)}`);
        return buildErrorResponse(
          msg.instanceUid,
          ServerErrorResponseType.ServerErrorResponseType_Unavailable,
          'The server cannot reach its database; your message was not stored: retry later.',
          this.config.opamp.retryAfterSeconds,
        );
      }
      const reason = unstorableReason(err);
      if (reason === undefined) throw err;
      let uid: string | undefined;
      try {
        uid = uidToText(msg.instanceUid);
      } catch {
        uid = undefined;
      }
      this.logger.warn(`report of ${uid ?? 'an agent'} cannot be stored: ${reason}`);
      // What the session took from the report was not stored: the next message starts from the database.
      if (uid) this.states.delete(uid);
      return buildErrorResponse(msg.instanceUid, ServerErrorResponseType.ServerErrorResponseType_BadRequest, `report refused, it cannot be stored: ${reason}`);
    }
  }

  private async answer(conn: AgentConnection, msg: AgentToServer): Promise<ServerToAgent> {
    let uid: string;
    try {
      uid = uidToText(msg.instanceUid);
    } catch (err) {
      return buildErrorResponse(msg.instanceUid, ServerErrorResponseType.ServerErrorResponseType_BadRequest, (err as Error).message);
    }
    const now = new Date();
    const withCapabilities = conn.transport === 'http' || !conn.capabilitiesSent;
    const requestsUid = (msg.flags & BigInt(AgentToServerFlags.AgentToServerFlags_RequestInstanceUid)) !== 0n;

    if (conn.transport !== 'http') {
      const refusal = await this.checkUidUse(conn, uid, requestsUid);
      if (refusal) {
        this.logger.warn(`closing ${conn.transport} connection ${conn.id} from ${conn.remoteAddress}: ${refusal}`);
        conn.closeReason = refusal;
        return buildErrorResponse(msg.instanceUid, ServerErrorResponseType.ServerErrorResponseType_BadRequest, refusal);
      }
    }

    // A report over a storage limit is refused whole, before anything of it is kept or stored.
    const over = checkReportLimits(msg, this.config.opamp.reportLimits);
    if (over) {
      this.logger.warn(`report of ${uid} from ${conn.remoteAddress} refused: ${over.message}`);
      return buildErrorResponse(msg.instanceUid, ServerErrorResponseType.ServerErrorResponseType_BadRequest, over.message);
    }

    // A second live connection presenting different identifying attributes under this uid is a
    // clone (a copied disk, a duplicated pod): it gets a uid of its own and nothing is stored.
    const holder = this.registry.get(uid);
    if (holder && holder !== conn && holder.transport !== 'http' && msg.agentDescription) {
      const state = await this.stateFor(uid);
      const identifying = descriptionToStored(msg.agentDescription).identifying;
      if (state && !sameAttributes(state.holds.description?.identifying, identifying)) {
        this.logger.warn(`agent ${uid} connected twice with different identifying attributes; assigning the newcomer a new uid`);
        conn.capabilitiesSent = true;
        const assigned = newUuidV7();
        conn.assignedUid = uidToText(assigned);
        return buildServerToAgent({ instanceUid: msg.instanceUid, withCapabilities, newInstanceUid: assigned });
      }
    }

    // RequestInstanceUid: answer with a new uid and keep everything under it from now on; the
    // uid the connection spoke for until now is released at once (the agent leaves it).
    let newUid: Uint8Array | undefined;
    if (requestsUid) {
      newUid = newUuidV7();
      const previous = conn.uid;
      uid = uidToText(newUid);
      if (previous && conn.transport !== 'http') await this.releaseUid(previous, conn);
    }

    if (conn.transport !== 'http') {
      if (conn.uid && conn.uid !== uid) await this.releaseUid(conn.uid, conn); // moving to the uid the server assigned
      if (conn.assignedUid === uid) conn.assignedUid = undefined;
      this.registry.bind(uid, conn);
    }
    const known = newUid ? undefined : this.states.get(uid);
    const state = known ?? (await this.loadState(uid));
    const stamp = this.labelsToStamp(conn, state);
    const gap = !known || msg.sequenceNum !== state.lastSeq + 1n;
    state.lastSeq = msg.sequenceNum;
    // An HTTP agent silent for 3 poll intervals was disconnected; this poll starts a new run.
    if (conn.transport === 'http' && state.lastSeenAt < now.getTime() - this.httpSilenceMs()) state.httpConnectedAt = undefined;
    state.lastSeenAt = now.getTime();
    if (msg.capabilities !== 0n) state.capabilities = msg.capabilities;

    const parts = await this.partsOf(msg, state);
    // Selector terms follow labels and description (what the session holds is the agent's whole set).
    if (parts.description || stamp) parts.selectorTerms = agentSelectorTerms(state.holds);
    let flags = 0n;
    // A gap, and a part the agent promises is missing; or a new session of a stored agent whose
    // number does not follow the last one taken from it, and the message does not bring its
    // whole state again (opamp-go sends that only on its first connection): reports were lost,
    // as when a server dies before writing what it read. Or the agent's last message was lost
    // to a database outage: it is asked for its whole state once.
    const lost = !known && state.fromStore === true && (state.storedSeq === undefined || msg.sequenceNum !== state.storedSeq + 1n);
    const stale = lost && !carriesPromisedState(msg, state.capabilities);
    const again = this.reportAgain.delete(uid);
    if (again || (gap && state.fullStateRequestedAt !== msg.sequenceNum && (stale || this.missingPromisedState(state)))) {
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
    // A command travels alone: when one waits (HTTP), the rest of this answer waits for the next poll.
    if (!disconnecting && state.pendingCommand !== undefined) {
      const command = state.pendingCommand;
      state.pendingCommand = undefined;
      await this.persist(uid, conn, state, msg, parts, now, true, stamp);
      if (withCapabilities) conn.capabilitiesSent = true;
      return buildCommand(msg.instanceUid, command, withCapabilities);
    }

    const out: OutgoingParts = { instanceUid: msg.instanceUid, withCapabilities, flags, newInstanceUid: newUid };
    if (!disconnecting) {
      Object.assign(parts, await this.decideDelivery(state, out));
      if (state.pendingCustomMessage) {
        out.customMessage = state.pendingCustomMessage;
        state.pendingCustomMessage = undefined;
      }
    }
    await this.persist(uid, conn, state, msg, parts, now, !disconnecting, stamp);
    if (disconnecting) this.forget(uid, conn);
    if (withCapabilities) conn.capabilitiesSent = true;
    return buildServerToAgent(out);
  }

  /**
   * A WebSocket or gRPC connection ended: every agent it still speaks for is offline (unless a
   * newer connection holds it), whichever uids it used.
   */
  async connectionClosed(conn: AgentConnection): Promise<void> {
    if (conn.transport === 'http') return;
    const released = this.registry.releaseAll(conn);
    for (const uid of released) this.states.delete(uid);
    // At shutdown every connection closes at once; OpampGatewayModule records them in one bulk.
    if (this.stopping) return;
    await Promise.all(released.map((uid) => this.agents.markDisconnected(uid, conn.id)));
  }

  /**
   * The rule of uids on a live connection: it speaks for the uid of its first message, and moves
   * only to a uid the server itself assigned it (RequestInstanceUid, a clone's new uid), at most
   * MAX_UIDS_PER_CONNECTION over its life. Anything else (a message under some other uid) is
   * refused: one socket must not hold many agents' places. Returns the reason, or undefined.
   */
  private async checkUidUse(conn: AgentConnection, uid: string, requestsUid: boolean): Promise<string | undefined> {
    if (conn.closeReason) return conn.closeReason;
    if (conn.uid !== undefined && conn.uid !== uid && conn.assignedUid !== uid) {
      return (
        `instance_uid changed from ${conn.uid} to ${uid} on a live connection: a connection speaks for one agent and may only ` +
        'move to the new_instance_uid the server assigned it (open a new connection for another agent)'
      );
    }
    const adds = (this.registry.hasBound(conn, uid) ? 0 : 1) + (requestsUid ? 1 : 0);
    if (this.registry.boundCount(conn) + adds > MAX_UIDS_PER_CONNECTION) {
      return `this connection has already spoken for ${this.registry.boundCount(conn)} instance uids, the most one connection may (${MAX_UIDS_PER_CONNECTION}); reconnect`;
    }
    return undefined;
  }

  /** The connection no longer speaks for `uid` (it moved to another): the agent under it is offline. */
  private async releaseUid(uid: string, conn: AgentConnection): Promise<void> {
    if (!this.registry.release(uid, conn)) return;
    this.states.delete(uid);
    await this.agents.markDisconnected(uid, conn.id);
  }

  /** Answer for a message that could not be decoded. */
  malformed(err: MalformedMessageError): ServerToAgent {
    return buildErrorResponse(new Uint8Array(), ServerErrorResponseType.ServerErrorResponseType_BadRequest, err.message);
  }

  /**
   * Sends a Restart command: at once to a connected WebSocket/gRPC agent, on the next poll to
   * an HTTP agent. False when this replica does not serve the agent now.
   */
  sendCommand(uid: string, type: CommandType): boolean {
    const state = this.states.get(uid);
    if (!state) return false;
    const conn = this.registry.get(uid);
    if (conn?.push) {
      conn.push(buildCommand(textToUid(uid)!, type, false));
      return true;
    }
    state.pendingCommand = type;
    return true;
  }

  /** Delivers a custom message (at once, or on the next HTTP poll). False when the agent is not served here. */
  sendCustomMessage(uid: string, message: CustomMessage): boolean {
    const state = this.states.get(uid);
    if (!state) return false;
    const conn = this.registry.get(uid);
    if (conn?.push) {
      conn.push(buildServerToAgent({ instanceUid: textToUid(uid)!, withCapabilities: false, customMessage: message }));
      return true;
    }
    state.pendingCustomMessage = message;
    return true;
  }

  /** The agent's labels or assignment changed through the API: reload what desired state depends on, and push. */
  async agentChanged(uid: string): Promise<void> {
    const state = this.states.get(uid);
    if (!state) return;
    const fresh = await this.agents.summary(uid);
    if (!fresh) return;
    this.adoptView(uid, state, fresh);
    await this.pushIfNeeded(uid, state);
  }

  /**
   * The periodic pass over the agents this replica holds: their labels and assignment are read
   * again (a change made through another replica reaches them here, there being no event bus
   * between replicas yet), then whatever desired state says they lack is pushed.
   */
  async reconcile(): Promise<void> {
    const uids = [...this.states.keys()];
    const views = await this.agents.viewsOf(uids);
    for (const [uid, view] of views) {
      const state = this.states.get(uid);
      if (state && (!sameJson(view.labels, state.holds.labels) || !sameJson(view.assignedConfig, state.holds.assignedConfig))) this.adoptView(uid, state, view);
    }
    this.schedulePushToConnected();
  }

  /**
   * Takes labels and assignment as stored. When the labels changed, the selector terms are written
   * again from them and the description this session holds: a report that raced with a label
   * change may have written terms from the labels held before it.
   */
  private adoptView(uid: string, state: SessionState, view: Pick<StoredAgentSummary, 'labels' | 'assignedConfig'>): void {
    const labelsChanged = !sameJson(view.labels, state.holds.labels);
    state.holds.labels = view.labels;
    state.holds.assignedConfig = view.assignedConfig;
    if (labelsChanged) {
      void this.agents
        .applyTracking(uid, { selectorTerms: agentSelectorTerms(state.holds) })
        .catch((e) => this.logger.error(`selector terms of ${uid} not written: ${e}`));
    }
  }

  /** Drops remembered state of HTTP agents that stopped polling, so memory follows the live fleet. */
  evictSilent(now = Date.now()): void {
    const cutoff = now - this.httpSilenceMs();
    for (const [uid, s] of this.states) {
      if (s.lastSeenAt < cutoff && !this.registry.get(uid)) this.states.delete(uid);
    }
  }

  /** Agents this replica serves now, by transport (HTTP agents: polled within the last 3 intervals). */
  connectedByTransport(): Record<'websocket' | 'http' | 'grpc', number> {
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

  private httpSilenceMs(): number {
    return httpSilenceMs(this.config.opamp.heartbeatIntervalSeconds);
  }

  /** Coalesces bursts of changes into one pass over the connected agents. */
  private schedulePushToConnected(): void {
    if (this.pushScheduled) return;
    this.pushScheduled = true;
    setImmediate(() => {
      this.pushScheduled = false;
      void this.pushToConnected();
    });
  }

  /**
   * Pushes to every agent this replica holds whatever its desired state says it lacks. The
   * pushes go out first, all of them; the bookkeeping follows in bulk writes, so a change for
   * 10,000 agents costs a few database round trips instead of 10,000 sequential ones.
   */
  private async pushToConnected(): Promise<void> {
    const tracking: [string, Partial<Agent>][] = [];
    for (const [uid, conn] of [...this.registry.all()]) {
      const state = this.states.get(uid);
      if (!state || !conn.push) continue;
      try {
        const parts = await this.decideAndPush(uid, state);
        if (parts && Object.keys(parts).length) tracking.push([uid, parts]);
      } catch (err) {
        this.logger.error(`push to ${uid} failed: ${err}`);
      }
    }
    await this.agents.applyTrackingMany(tracking).catch((err) => this.logger.error(`recording pushes failed: ${err}`));
  }

  /** Pushes whatever one agent's desired state says it lacks (hash-gated), and records it. */
  private async pushIfNeeded(uid: string, state: SessionState): Promise<void> {
    const parts = await this.decideAndPush(uid, state);
    if (parts) await this.agents.applyTracking(uid, parts);
  }

  /** Decides and pushes; returns the bookkeeping to store (undefined when the agent has no live connection here). */
  private async decideAndPush(uid: string, state: SessionState): Promise<Partial<Agent> | undefined> {
    const conn = this.registry.get(uid);
    if (!conn?.push) return undefined;
    const out: OutgoingParts = { instanceUid: textToUid(uid)!, withCapabilities: false };
    const tracking = await this.decideDelivery(state, out);
    if (out.remoteConfig || out.connectionSettings) conn.push(buildServerToAgent(out));
    return tracking;
  }

  /**
   * Decides the remote config and connection settings to send, by the rules: only to agents
   * whose capabilities accept them, only when the hash differs from what the agent reports and
   * from what was already sent. Returns the bookkeeping to store.
   */
  private async decideDelivery(state: SessionState, out: OutgoingParts): Promise<Partial<Agent>> {
    const store: Partial<Agent> = {};
    const accepts = hasCapability(state.capabilities, Cap.AgentCapabilities_AcceptsRemoteConfig);
    const reports = hasCapability(state.capabilities, Cap.AgentCapabilities_ReportsRemoteConfig);
    const { config: desired, settings, offer } = await this.desiredFor(state);
    const reported = state.holds.remoteConfigStatus;
    let tracking: RemoteConfigTracking | null = null;
    if (desired && isProblem(desired)) {
      tracking = { state: 'pending', origin: originText(desired.origin), error: desired.error };
    } else if (desired) {
      // Object literals, not spreads: this runs for every message of every agent, and a spread of
      // objects of varying shape is some twenty times slower in V8.
      const desiredHash = desired.hashHex;
      const origin = originText(desired.origin);
      const previouslySent = state.holds.remoteConfig?.lastSentHash;
      if (!accepts) {
        tracking = { state: 'unsupported', desiredHash, origin };
      } else {
        // Agents that report status are gated by what they report (and by what this session sent);
        // agents that cannot report are gated by what was ever sent to them.
        const needed = reports
          ? reported?.lastRemoteConfigHash !== desired.hashHex && state.sentConfigHash !== desired.hashHex
          : previouslySent !== desired.hashHex;
        let lastSentHash = previouslySent;
        let lastSentAt = state.holds.remoteConfig?.lastSentAt;
        if (needed) {
          state.sentConfigHash = desired.hashHex;
          lastSentHash = desired.hashHex;
          lastSentAt = new Date();
          out.remoteConfig = remoteConfigMessage(desired);
        }
        const d = deliveryState(desired.hashHex, reports, reported, lastSentHash);
        tracking = { state: d.state, desiredHash, origin, lastSentHash, lastSentAt, unconfirmed: d.unconfirmed, error: d.error };
      }
    }
    if (!sameFields(tracking, state.holds.remoteConfig ?? null)) {
      store.remoteConfig = tracking;
      state.holds.remoteConfig = tracking;
    }

    if (settings) {
      if (offer && offer.hashHex !== state.holds.connectionSettingsOffer?.lastSentHash) {
        out.connectionSettings = offer.offers as ConnectionSettingsOffers;
        const sent = { lastSentHash: offer.hashHex, lastSentAt: new Date(), origin: settings.origin.kind === 'group' ? `group/${settings.origin.group}` : 'default' };
        store.connectionSettingsOffer = sent;
        state.holds.connectionSettingsOffer = sent;
      }
    }
    return store;
  }

  /** The agent's desired config and connection settings offer, derived again only when something they depend on changed. */
  private async desiredFor(state: SessionState): Promise<DesiredMemo> {
    const generation = this.desired.generation;
    const view = state.holds;
    const m = state.desired;
    if (
      m &&
      generation !== undefined &&
      m.generation === generation &&
      m.labels === view.labels &&
      m.description === view.description &&
      m.assignedConfig === view.assignedConfig &&
      m.capabilities === state.capabilities
    ) {
      return m;
    }
    // What the answer is derived from, taken before any await: a change meanwhile makes the memo miss next time.
    const basis = { labels: view.labels, description: view.description, assignedConfig: view.assignedConfig, capabilities: state.capabilities };
    const config = await this.desired.configFor(view);
    const settings = await this.desired.connectionSettingsFor(view);
    const offer = settings && buildOffers(settings.settings, state.capabilities, this.config.opamp.heartbeatIntervalSeconds);
    const memo: DesiredMemo = { generation: this.desired.generation ?? -1, ...basis, config, settings, offer };
    // Kept only when no reload ran meanwhile (an answer derived across a reload may mix old and new).
    if (generation !== undefined && memo.generation === generation) state.desired = memo;
    return memo;
  }

  /**
   * Labels of the agent's credential (its enrollment token) that the agent does not have yet:
   * merged into what the session holds at once, so desired state (group selectors) sees them in
   * this very answer, and written with the report. Keys the agent has keep their value, so an
   * operator's label wins over the token's.
   */
  private labelsToStamp(conn: AgentConnection, state: SessionState): Record<string, string> | undefined {
    if (!conn.labels) return undefined;
    const held = state.holds.labels ?? {};
    const missing = Object.entries(conn.labels).filter(([k]) => !(k in held));
    if (missing.length === 0) return undefined;
    state.holds.labels = { ...held, ...Object.fromEntries(missing) };
    return Object.fromEntries(missing);
  }

  private async persist(
    uid: string,
    conn: AgentConnection,
    state: SessionState,
    msg: AgentToServer,
    parts: Partial<Agent>,
    now: Date,
    connected: boolean,
    labels?: Record<string, string>,
  ): Promise<void> {
    const connection = this.connectionFacts(conn, state, msg, now, connected);
    const heartbeatOnly = Object.keys(parts).length === 0 && !labels && state.persistedConnectionId === connection.connectionId && connected;
    if (heartbeatOnly) {
      this.agents.recordSeen(uid, now, connection.sequenceNum);
      return;
    }
    await this.agents.applyReport(uid, parts, connection, labels);
    state.persistedConnectionId = connected ? connection.connectionId : undefined;
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

  private async loadState(uid: string): Promise<SessionState> {
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
      holds.description = parts.description;
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
      holds.remoteConfigStatus = parts.remoteConfigStatus;
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

/** Same own fields (undefined counts as absent; dates by time): tracking is written only when it changes. */
function sameFields(a: object | null, b: object | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const kx = keys(x);
  if (kx.length !== keys(y).length) return false;
  return kx.every((k) => {
    const [p, q] = [x[k], y[k]];
    if (p instanceof Date && q instanceof Date) return p.getTime() === q.getTime();
    return p === q;
  });
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The delivery state shown to operators and counted per group. */
function deliveryState(
  desiredHash: string,
  reports: boolean,
  reported: StoredAgentSummary['remoteConfigStatus'],
  lastSentHash: string | undefined,
): Pick<RemoteConfigTracking, 'state' | 'unconfirmed' | 'error'> {
  if (!reports) return lastSentHash === desiredHash ? { state: 'applied', unconfirmed: true } : { state: 'pending' };
  if (reported?.lastRemoteConfigHash !== desiredHash) return { state: 'pending' };
  switch (reported.status) {
    case 'APPLIED':
      return { state: 'applied' };
    case 'APPLYING':
      return { state: 'applying' };
    case 'FAILED':
      return { state: 'failed', error: reported.errorMessage };
    default:
      return { state: 'pending' };
  }
}
