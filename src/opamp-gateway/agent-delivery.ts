import { Inject, Injectable } from '@nestjs/common';
import type { Agent } from '../agents/agent.schema';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DesiredStateService } from '../desired-state/desired-state.service';
import type { AgentView, DesiredConfig, DesiredConfigProblem, DesiredConnectionSettings } from '../desired-state/desired-state.types';
import { buildOffers } from './connection-settings-offers';
import { ConnectionSettingsOffer, decideDelivery } from './delivery-policy';
import { buildRemoteConfig, OutgoingParts } from './protocol/server-to-agent.builder';
import type { SessionState } from './session-store';
import type { OwnMetricsDestination } from '../telemetry/own-metrics-offer';

/**
 * What desired state said for one agent view. Labels, description and assignment are replaced
 * (never mutated) when they change, so identity tells whether the view is still the same.
 */
export interface DesiredMemo {
  generation: number;
  labels: AgentView['labels'];
  description: AgentView['description'];
  assignedConfig: AgentView['assignedConfig'];
  capabilities: bigint;
  ownMetrics: OwnMetricsDestination | undefined;
  config: DesiredConfig | DesiredConfigProblem | undefined;
  settings: DesiredConnectionSettings | undefined;
  offer: ConnectionSettingsOffer | undefined;
}

/**
 * Carries out the delivery policy for one agent, the same way for an answer and for a push:
 * gathers the facts (what desired state says the agent should have, remembered per session
 * while nothing it depends on changes), asks the policy, puts what it decided to send into the
 * outgoing message and notes in the session what was sent.
 */
@Injectable()
export class AgentDelivery {
  constructor(
    private readonly desired: DesiredStateService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Fills `out` with what the agent is due; returns the bookkeeping to store. */
  async deliver(state: SessionState, out: OutgoingParts): Promise<Partial<Agent>> {
    const desired = await this.desiredFor(state);
    const holds = state.holds;
    const decision = decideDelivery({
      capabilities: state.capabilities,
      reported: holds.remoteConfigStatus,
      tracking: holds.remoteConfig,
      lastOfferHash: holds.connectionSettingsOffer?.lastSentHash,
      sentThisSession: state.sentConfigHash,
      desired,
      now: new Date(),
    });
    const store: Partial<Agent> = {};
    if (decision.remoteConfig) {
      state.sentConfigHash = decision.remoteConfig.hashHex;
      out.remoteConfig = buildRemoteConfig(decision.remoteConfig);
    }
    if (decision.tracking !== undefined) {
      store.remoteConfig = decision.tracking;
      holds.remoteConfig = decision.tracking;
    }
    if (decision.connectionSettings) out.connectionSettings = decision.connectionSettings;
    if (decision.offerSent) {
      store.connectionSettingsOffer = decision.offerSent;
      holds.connectionSettingsOffer = decision.offerSent;
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
      m.capabilities === state.capabilities &&
      m.ownMetrics === state.ownMetrics
    ) {
      return m;
    }
    // What the answer is derived from, taken before any await: a change meanwhile makes the memo miss next time.
    const basis = {
      labels: view.labels,
      description: view.description,
      assignedConfig: view.assignedConfig,
      capabilities: state.capabilities,
      ownMetrics: state.ownMetrics,
    };
    const config = await this.desired.configFor(view);
    const settings = await this.desired.connectionSettingsFor(view, basis.ownMetrics);
    const offer = settings && buildOffers(settings.settings, state.capabilities, this.config.opamp.heartbeatIntervalSeconds);
    const memo: DesiredMemo = { generation: this.desired.generation ?? -1, ...basis, config, settings, offer };
    // Kept only when no reload ran meanwhile (an answer derived across a reload may mix old and new).
    if (generation !== undefined && memo.generation === generation) state.desired = memo;
    return memo;
  }
}
