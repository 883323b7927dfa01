import { randomBytes } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Agent } from '../agents/agent.schema';
import { AgentsService, StoredAgentSummary } from '../agents/agents.service';
import { DesiredStateEvents } from '../common/desired-state-events';
import { PeriodicTask } from '../common/periodic-task';
import { agentSelectorTerms } from '../common/selectors/selector-terms';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CommandType, CustomMessage } from '../gen/opamp/v1/opamp_pb';
import { AgentDelivery } from './agent-delivery';
import { ConnectionRegistry } from './connection-registry';
import { textToUid } from '../protocol/instance-uid';
import { buildCommand, buildServerToAgent, OutgoingParts } from './protocol/server-to-agent.builder';
import { SessionState, SessionStore } from './session-store';

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Sends to agents between their messages: what desired state says they lack when it changes
 * (a reload, an agent's labels or assignment, the periodic reconcile), and commands and custom
 * messages. WebSocket and gRPC agents get it at once; HTTP cannot push, so commands and custom
 * messages wait in the session for the next poll and config reaches it in that poll's answer.
 */
@Injectable()
export class AgentPusher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OpampPusher');
  private readonly reconciler = new PeriodicTask(
    () => this.reconcile(),
    (e) => this.logger.error(`reconcile failed: ${e}`),
  );
  private pushScheduled = false;

  constructor(
    private readonly agents: AgentsService,
    private readonly registry: ConnectionRegistry,
    private readonly sessions: SessionStore,
    private readonly delivery: AgentDelivery,
    private readonly events: DesiredStateEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.events.on('refreshed', () => this.schedulePushToConnected());
    this.events.on('changed', (c) => {
      if (c.forgetFailedHash) this.forgetFailed(c.agents ?? [], c.forgetFailedHash);
      if (c.forgetFailedPackageOffers) this.forgetFailedPackages(c.agents ?? []);
      for (const uid of c.agents ?? []) void this.agentChanged(uid).catch((e) => this.logger.error(`update of ${uid} failed: ${e}`));
    });
    this.reconciler.start(this.config.opamp.reconcileIntervalSeconds * 1000);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.reconciler.stop();
  }

  /**
   * Sends a Restart command: at once to a connected WebSocket/gRPC agent, on the next poll to
   * an HTTP agent. False when this replica does not serve the agent now.
   */
  async sendCommand(uid: string, type: CommandType): Promise<boolean> {
    const state = this.sessions.get(uid);
    if (!state) return false;
    const conn = this.registry.get(uid);
    if (conn?.push) {
      conn.push(buildCommand(textToUid(uid)!, type, false));
      return true;
    }
    // Stored as well: the agent's next poll may reach another replica (a load balancer), which
    // loads it with the agent's session; one conditional update decides who delivers it.
    const pending = { id: randomBytes(8).toString('hex'), type, at: Date.now() };
    await this.agents.storePendingCommand(uid, { ...pending, at: new Date(pending.at) });
    state.pendingCommand = pending;
    return true;
  }

  /** Delivers a custom message (at once, or on the next HTTP poll). False when the agent is not served here. */
  sendCustomMessage(uid: string, message: CustomMessage): boolean {
    const state = this.sessions.get(uid);
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
  /** A user's retry: the sessions held here stop remembering the hash as failed (the stored copy is changed by the retry itself). */
  private forgetFailed(uids: string[], hashHex: string): void {
    for (const uid of uids) {
      const tracking = this.sessions.get(uid)?.holds.remoteConfig;
      if (tracking?.failedHashes?.includes(hashHex)) tracking.failedHashes = tracking.failedHashes.filter((h) => h !== hashHex);
    }
  }

  /** A retried rollout of packages: the sessions held here stop remembering failed packages offers. */
  private forgetFailedPackages(uids: string[]): void {
    for (const uid of uids) {
      const tracking = this.sessions.get(uid)?.holds.packageOffer;
      if (tracking?.failedHashes) tracking.failedHashes = undefined;
    }
  }

  async agentChanged(uid: string): Promise<void> {
    const state = this.sessions.get(uid);
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
    const views = await this.agents.viewsOf(this.sessions.uids());
    for (const [uid, view] of views) {
      const state = this.sessions.get(uid);
      if (
        state &&
        (!sameJson(view.labels, state.holds.labels) ||
          !sameJson(view.assignedConfig, state.holds.assignedConfig) ||
          !sameJson(view.assignedPackages, state.holds.assignedPackages))
      )
        this.adoptView(uid, state, view);
    }
    this.schedulePushToConnected();
  }

  /**
   * Takes labels and assignment as stored. When the labels changed, the selector terms are written
   * again from them and the description this session holds: a report that raced with a label
   * change may have written terms from the labels held before it.
   */
  private adoptView(uid: string, state: SessionState, view: Pick<StoredAgentSummary, 'labels' | 'assignedConfig' | 'assignedPackages'>): void {
    const labelsChanged = !sameJson(view.labels, state.holds.labels);
    state.holds.labels = view.labels;
    state.holds.assignedConfig = view.assignedConfig;
    state.holds.assignedPackages = view.assignedPackages;
    if (labelsChanged) {
      void this.agents
        .applyTracking(uid, { selectorTerms: agentSelectorTerms(state.holds) })
        .catch((e) => this.logger.error(`selector terms of ${uid} not written: ${e}`));
    }
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
      const state = this.sessions.get(uid);
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
    const tracking = await this.delivery.deliver(state, out);
    // A push carries something or is not sent: an empty push would be an acknowledgement of nothing.
    if (out.remoteConfig || out.connectionSettings || out.packagesAvailable) conn.push(buildServerToAgent(out));
    return tracking;
  }
}
