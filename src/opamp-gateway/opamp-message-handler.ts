import { configShape } from './config-drift';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Agent, PENDING_COMMAND_TTL_MS, StoredConnection } from '../agents/agent.schema';
import { bigToPlain, descriptionToStored } from '../agents/agent-report.mapper';
import { AgentsService } from '../agents/agents.service';
import { describeDatabaseError, isDatabaseUnavailable } from '../common/database-errors';
import { agentSelectorTerms } from '../common/selectors/selector-terms';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AgentToServer, AgentToServerFlags, CommandType, ServerErrorResponseType, ServerToAgent, ServerToAgentFlags } from '../gen/opamp/v1/opamp_pb';
import { AgentConnection } from './agent-connection';
import { AgentDelivery } from './agent-delivery';
import { OwnMetricsOffer } from '../telemetry/own-metrics-offer';
import { ConnectionRegistry, MAX_UIDS_PER_CONNECTION } from './connection-registry';
import { answerShape, componentsToRequest, requestsFullState } from './delivery-policy';
import { newUuidV7, uidToText } from '../protocol/instance-uid';
import { MalformedMessageError } from './protocol/opamp-codec';
import { checkReportLimits } from './protocol/report-limits';
import { takeReport } from './report-parts';
import { buildCommand, buildErrorResponse, buildServerToAgent, OutgoingParts } from './protocol/server-to-agent.builder';
import { SessionState, SessionStore } from './session-store';
import { unstorableReason } from './unstorable-report';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * How long after closing a connection it asked to reconnect elsewhere a replica waits before
 * recording the close (the other replica records the agent first). Also how long the shutdown
 * drain waits before its bulk write.
 */
export const HANDOVER_MS = 2000;

function sameAttributes(a: { key: string; value: unknown }[] | undefined, b: { key: string; value: unknown }[]): boolean {
  if (!a) return true;
  const norm = (x: { key: string; value: unknown }[]) => JSON.stringify([...x].sort((p, q) => (p.key < q.key ? -1 : 1)).map((kv) => [kv.key, kv.value]));
  return norm(a) === norm(b);
}

/** The uid of a message as text, or undefined when it is no valid uid. */
function uidOf(msg: AgentToServer): string | undefined {
  try {
    return uidToText(msg.instanceUid);
  } catch {
    return undefined;
  }
}

/**
 * The transport-agnostic OpAMP message handler: every decoded AgentToServer from any transport
 * comes here with its connection handle; what it reports is stored, and the answer goes back.
 * Which uid a live connection may speak for is decided here too. What the answer delivers is
 * the delivery policy's (delivery-policy.ts). Rules: shared/opamp/server-behaviour.md.
 */
@Injectable()
export class OpampMessageHandler {
  private readonly logger = new Logger('OpampSession');
  /** Set late in a shutdown: sessions closed then are recorded in one bulk write, not one each. */
  private stopping = false;
  /** Closes of shed connections waiting to be recorded (see connectionClosed). */
  private readonly handovers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly agents: AgentsService,
    private readonly registry: ConnectionRegistry,
    private readonly sessions: SessionStore,
    private readonly delivery: AgentDelivery,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ownMetricsOffer: OwnMetricsOffer,
  ) {}

  /**
   * From now on closed sessions are not recorded one by one: OpampGatewayModule marks them all in
   * one bulk write. Called by the shutdown drain (ConnectionDrainer) once the spread part is over:
   * until then each close is recorded on its own, fenced by connection, as the agent may already
   * be held by another replica.
   */
  recordClosesInBulk(): void {
    this.stopping = true;
    // Those still waiting are covered by the bulk write (every agent still recorded on this replica).
    for (const t of this.handovers) clearTimeout(t);
    this.handovers.clear();
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
      const uid = uidOf(msg);
      if (isDatabaseUnavailable(err)) {
        // Nothing of this message was stored: the next one starts from the database and asks for everything again.
        if (uid) this.sessions.forgetLostReport(uid);
        // Plain HTTP answers 503 + Retry-After (the transport does it); a live connection stays open and is told to retry.
        if (conn.transport === 'http') throw err;
        this.logger.warn(`database unavailable while answering ${uid ?? 'an agent'}: ${describeDatabaseError(err)}`);
        return buildErrorResponse(
          msg.instanceUid,
          ServerErrorResponseType.ServerErrorResponseType_Unavailable,
          'The server cannot reach its database; your message was not stored: retry later.',
          this.config.opamp.retryAfterSeconds,
        );
      }
      const reason = unstorableReason(err);
      if (reason === undefined) throw err;
      this.logger.warn(`report of ${uid ?? 'an agent'} cannot be stored: ${reason}`);
      // What the session took from the report was not stored: the next message starts from the database.
      if (uid) this.sessions.forget(uid);
      return buildErrorResponse(msg.instanceUid, ServerErrorResponseType.ServerErrorResponseType_BadRequest, `report refused, it cannot be stored: ${reason}`);
    }
  }

  /** Answer for a message that could not be decoded. */
  malformed(err: MalformedMessageError): ServerToAgent {
    return buildErrorResponse(new Uint8Array(), ServerErrorResponseType.ServerErrorResponseType_BadRequest, err.message);
  }

  /**
   * A WebSocket or gRPC connection ended: every agent it still speaks for is offline (unless a
   * newer connection holds it), whichever uids it used.
   */
  async connectionClosed(conn: AgentConnection): Promise<void> {
    if (conn.transport === 'http') return;
    const released = this.registry.releaseAll(conn);
    for (const uid of released) this.sessions.forget(uid);
    // At the end of a shutdown the rest close at once; OpampGatewayModule records them in one bulk.
    if (this.stopping) return;
    if (conn.shed) {
      // Asked to reconnect elsewhere: the replica it reaches next records it within milliseconds,
      // and a write of ours to the same document at that moment could undo that one (updates of one
      // document are not atomic on every database). The close is recorded a little later, fenced
      // by connection as always, so it changes nothing once the agent is held again.
      for (const uid of released) this.markLater(uid, conn.id);
      return;
    }
    await Promise.all(released.map((uid) => this.agents.markDisconnected(uid, conn.id)));
  }

  private markLater(uid: string, connectionId: string): void {
    const at = new Date();
    // Nothing held of this connection (a heartbeat's last seen) is written from now on.
    const closing = this.agents.forgetConnection(uid, connectionId);
    const timer = setTimeout(() => {
      this.handovers.delete(timer);
      this.agents.markDisconnected(uid, connectionId, at, closing).catch((err) => this.logger.warn(`recording the close of ${uid} failed: ${err}`));
    }, HANDOVER_MS);
    timer.unref();
    this.handovers.add(timer);
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
    const contested = holder !== undefined && holder !== conn && holder.transport !== 'http';
    if (contested && !msg.agentDescription && conn.identityAskedFor !== uid) {
      // ... and one that says nothing of who it is (a client may leave the description out of its first message)
      // is asked for its full state before it may take the uid over, so that a clone is still told apart.
      conn.identityAskedFor = uid;
      conn.capabilitiesSent = true;
      return buildServerToAgent({ instanceUid: msg.instanceUid, withCapabilities, flags: BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState) });
    }
    if (contested && msg.agentDescription) {
      const state = await this.sessions.peek(uid);
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
    const known = newUid ? undefined : this.sessions.get(uid);
    const state = known ?? (await this.sessions.load(uid));
    const previousSeq = known ? state.lastSeq : undefined;
    const stamp = this.labelsToStamp(conn, state);
    state.lastSeq = msg.sequenceNum;
    // An HTTP agent silent for 3 poll intervals was disconnected; this poll starts a new run.
    if (conn.transport === 'http' && state.lastSeenAt < now.getTime() - this.sessions.httpSilenceMs()) state.httpConnectedAt = undefined;
    state.lastSeenAt = now.getTime();
    if (msg.capabilities !== 0n) state.capabilities = msg.capabilities;
    // Own metrics: this server's receiver is the default destination (telemetry module).
    state.ownMetrics = this.ownMetricsOffer.destinationFor(uid, conn, state.capabilities, msg.health?.healthy);
    state.packageAccess = this.packageAccess(conn, state.packageAccess);

    if (msg.effectiveConfig) state.effectiveShape = configShape(Object.values(msg.effectiveConfig.configMap?.configMap ?? {}));
    const { parts, catalog } = takeReport(msg, state.holds);
    if (catalog) await this.agents.storeComponentCatalog(catalog.hash, catalog.components);
    // Selector terms follow labels and description (what the session holds is the agent's whole set).
    if (parts.description || stamp) parts.selectorTerms = agentSelectorTerms(state.holds);
    let flags = 0n;
    const fullState = requestsFullState({
      message: msg,
      capabilities: state.capabilities,
      held: state.holds,
      previousSeq,
      stored: !known && state.fromStore === true ? { sequenceNum: state.storedSeq } : undefined,
      askedAt: state.fullStateRequestedAt,
      lostToOutage: this.sessions.takeReportAgain(uid),
    });
    if (fullState) {
      flags |= BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState);
      state.fullStateRequestedAt = msg.sequenceNum;
    }
    const components = msg.availableComponents;
    const askComponents = componentsToRequest({
      capabilities: state.capabilities,
      reported: components && { hash: hex(components.hash), carriesComponents: Object.keys(components.components).length > 0 },
      askedFor: state.componentsRequestedFor,
    });
    if (askComponents !== undefined && !(await this.agents.knowsComponentCatalog(askComponents))) {
      flags |= BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportAvailableComponents);
      state.componentsRequestedFor = askComponents;
    }

    const disconnecting = msg.agentDisconnect !== undefined;
    const command = disconnecting ? undefined : await this.claimCommand(uid, state, now);
    const shape = answerShape({ disconnecting, commandWaiting: command !== undefined });
    if (shape === 'command') {
      await this.persist(uid, conn, state, msg, parts, now, true, stamp);
      if (withCapabilities) conn.capabilitiesSent = true;
      return buildCommand(msg.instanceUid, command!, withCapabilities);
    }

    const out: OutgoingParts = { instanceUid: msg.instanceUid, withCapabilities, flags, newInstanceUid: newUid };
    if (shape === 'deliver') {
      Object.assign(parts, await this.delivery.deliver(state, out));
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
   * How the agent downloads offered packages from this server: the OpAMP port's base URL
   * (OPAMP_OFFER_PACKAGES_BASE_URL, else the host the agent reached) and the agent's own
   * enrollment token as bearer header (opamp-go sends no OpAMP header on downloads by itself;
   * an agent admitted by its client certificate needs none). The same object while unchanged.
   */
  private packageAccess(conn: AgentConnection, held: SessionState['packageAccess']): SessionState['packageAccess'] {
    let baseUrl = this.config.offers.packagesBaseUrl?.replace(/\/+$/, '');
    if (!baseUrl && conn.host && /^[A-Za-z0-9.\-[\]:]+$/.test(conn.host)) {
      const scheme = this.config.tls.certFile ? 'https' : 'http';
      const host = conn.host.startsWith('[') ? conn.host.slice(0, conn.host.indexOf(']') + 1) : conn.host.split(':')[0];
      baseUrl = conn.transport === 'grpc' ? `${scheme}://${host}:${this.config.opampPort}` : `${scheme}://${conn.host}`;
    }
    const bearer = conn.bearer ? `Bearer ${conn.bearer}` : undefined;
    if (held && held.baseUrl === baseUrl && held.headers.Authorization === bearer) return held;
    return { baseUrl, headers: bearer ? { Authorization: bearer } : {} };
  }

  /**
   * The command waiting for this (HTTP) agent, taken for this answer: only when it is fresh and
   * this replica wins the conditional update (another replica the agent polled may have delivered
   * it already). Undefined when there is none to send.
   */
  private async claimCommand(uid: string, state: SessionState, now: Date): Promise<CommandType | undefined> {
    const pending = state.pendingCommand;
    if (!pending) return undefined;
    state.pendingCommand = undefined;
    const claimed = await this.agents.claimPendingCommand(uid, pending.id);
    return claimed && now.getTime() - pending.at <= PENDING_COMMAND_TTL_MS ? pending.type : undefined;
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
    this.sessions.forget(uid);
    await this.agents.markDisconnected(uid, conn.id);
  }

  /** The agent said goodbye: its session ends now. */
  private forget(uid: string, conn: AgentConnection): void {
    this.sessions.forget(uid);
    if (conn.transport !== 'http') this.registry.release(uid, conn);
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
