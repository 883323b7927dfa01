import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';

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
  /** A rollout reached more agents, or ended (its overlay of a group's config changed). */
  | 'rollout.changed';

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
}

export interface DesiredStateEventMap {
  changed: [DesiredStateChange];
}

/**
 * In-process notifications "the desired state of these agents may have changed", emitted by the
 * domain services after a write is committed; the OpAMP gateway subscribes (`on('changed', …)`) and
 * pushes. Listeners run synchronously inside `publish`; one that throws is logged and never fails
 * the request that made the change.
 */
@Injectable()
export class DesiredStateEvents extends EventEmitter<DesiredStateEventMap> {
  private readonly logger = new Logger(DesiredStateEvents.name);

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** Emits `changed` to every listener, isolating the caller from listener failures. */
  publish(change: DesiredStateChange): void {
    // rawListeners, so that `once` listeners are removed as emit would remove them.
    for (const listener of this.rawListeners('changed')) {
      try {
        const r = (listener as (c: DesiredStateChange) => unknown)(change);
        if (r instanceof Promise) r.catch((e) => this.logger.error(`desired-state listener failed: ${e instanceof Error ? e.stack : e}`));
      } catch (e) {
        this.logger.error(`desired-state listener failed: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }
}
