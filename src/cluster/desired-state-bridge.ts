import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DesiredStateChange, DesiredStateChangeReason, DesiredStateEvents } from '../common/desired-state-events';
import { EventBus } from './event-bus';

const REASONS: ReadonlySet<DesiredStateChangeReason> = new Set<DesiredStateChangeReason>([
  'remoteconfig.created',
  'remoteconfig.revised',
  'remoteconfig.rolledback',
  'remoteconfig.updated',
  'remoteconfig.deleted',
  'agentgroup.created',
  'agentgroup.replaced',
  'agentgroup.deleted',
  'agent.labels',
  'agent.config',
  'agent.packages',
  'rollout.changed',
]);

const strings = (v: unknown): v is string[] | undefined => v === undefined || (Array.isArray(v) && v.length <= 10_000 && v.every((s) => typeof s === 'string'));

/** A desired-state change as heard on the bus, or undefined for anything else (the bus is not trusted to be well-formed). */
export function parseDesiredStateChange(body: unknown): DesiredStateChange | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.reason !== 'string' || !REASONS.has(b.reason as DesiredStateChangeReason)) return undefined;
  if (!strings(b.groups) || !strings(b.configs) || !strings(b.agents)) return undefined;
  return { reason: b.reason as DesiredStateChangeReason, groups: b.groups, configs: b.configs, agents: b.agents };
}

/**
 * Carries desired-state changes between replicas: what the domain services publish here goes on
 * the bus, and what another replica published is published here, so every replica's desired
 * state refreshes and pushes to the agents it holds at once (not at its next reconcile).
 */
@Injectable()
export class DesiredStateBridge implements OnApplicationBootstrap {
  private readonly logger = new Logger(DesiredStateBridge.name);
  /** Changes that came from the bus: not sent back onto it. */
  private readonly heard = new WeakSet<DesiredStateChange>();

  constructor(
    private readonly events: DesiredStateEvents,
    private readonly bus: EventBus,
  ) {}

  /** True for a change that came from another replica over the bus (its origin tells watchers of it). */
  fromBus(change: DesiredStateChange): boolean {
    return this.heard.has(change);
  }

  onApplicationBootstrap(): void {
    this.events.on('changed', (change) => {
      if (!this.heard.has(change)) this.bus.publish('desired-state', change);
    });
    this.bus.subscribe('desired-state', (body, origin) => {
      const change = parseDesiredStateChange(body);
      if (!change) {
        this.logger.warn(`malformed desired-state change from replica ${origin} ignored`);
        return;
      }
      this.heard.add(change);
      this.events.publish(change);
    });
  }
}
