import { Injectable, Logger } from '@nestjs/common';
import { EventMap, TypedEventBus } from './typed-event-bus';

/** Why the desired state of some agents may have changed. */
export type DesiredStateChangeReason =
  | 'remoteconfig.created'
  | 'remoteconfig.revised'
  | 'remoteconfig.rolledback'
  | 'remoteconfig.updated'
  | 'remoteconfig.deleted'
  | 'agentgroup.created'
  | 'agentgroup.replaced'
  | 'agentgroup.deleted'
  | 'agent.labels'
  | 'agent.config'
  /** An agent's own packages were set or cleared. */
  | 'agent.packages'
  /** A rollout reached more agents, or ended (its overlay of a group's config changed). */
  | 'rollout.changed'
  /** A user asked for a config to be tried again on agents that reported it FAILED (`forgetFailedHash`). */
  | 'agent.retry';

/**
 * A committed change that may alter what some agents should run. `groups` names the agent groups
 * concerned (for a remote config: the active groups referring to it at the time), `configs` the
 * remote configs concerned.
 */
export interface DesiredStateChange {
  reason: DesiredStateChangeReason;
  groups?: string[];
  configs?: string[];
  /** For changes of single agents (labels, per-agent config): their instance uids. */
  agents?: string[];
  /** The config hash (hex) `agents` no longer remember as FAILED: it may be pushed to them again. */
  forgetFailedHash?: string;
  /** `agents` no longer remember any packages offer as INSTALL_FAILED (a retried rollout of packages). */
  forgetFailedPackageOffers?: boolean;
}

export interface DesiredStateEventMap extends EventMap {
  /** A committed change (published by the domain services, and by the bridge for other replicas'). */
  changed: [DesiredStateChange];
  /**
   * The desired-state service reloaded groups and revisions and something changed (or it was
   * asked to announce): the gateway pushes to the agents it holds.
   */
  refreshed: [];
}

/**
 * The one in-process event bus: "the desired state of these agents may have changed" (`changed`,
 * emitted by the domain services after a write is committed) and "desired state was recomputed"
 * (`refreshed`). The OpAMP gateway, the desired-state cache, the rollout driver and the bridge to
 * other replicas subscribe with `on`. Listeners run synchronously inside `publish`; one that
 * throws is logged and never fails the request that made the change.
 */
@Injectable()
export class DesiredStateEvents extends TypedEventBus<DesiredStateEventMap> {
  constructor() {
    super(new Logger(DesiredStateEvents.name));
  }

  /** Tells every `changed` listener of a committed change. */
  publish(change: DesiredStateChange): void {
    this.emit('changed', change);
  }
}
