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
  'agent.retry',
  'rollout.changed',
]);

const MAX_NAMES = 10_000;
const HEX_HASH = /^[0-9a-f]{1,128}$/;

/** Why a list of names is not one, or undefined when it is (absent is fine). */
function notNames(field: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return `${field} is not a list`;
  if (v.length > MAX_NAMES) return `${field} holds ${v.length} names (at most ${MAX_NAMES})`;
  return v.every((s) => typeof s === 'string') ? undefined : `${field} holds something other than strings`;
}

/**
 * A desired-state change as heard on the bus, or why it is not one (the bus is not trusted to be
 * well-formed). Every field of DesiredStateChange is carried: a replica that dropped one (the
 * failed hash a retry forgets) would act on less than the replica that made the change.
 */
export function parseDesiredStateChange(body: unknown): { change: DesiredStateChange } | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'not an object' };
  const b = body as Record<string, unknown>;
  if (typeof b.reason !== 'string' || !REASONS.has(b.reason as DesiredStateChangeReason))
    return { error: `unknown reason ${JSON.stringify(b.reason)?.slice(0, 80)}` };
  const bad = notNames('groups', b.groups) ?? notNames('configs', b.configs) ?? notNames('agents', b.agents);
  if (bad) return { error: bad };
  if (b.forgetFailedHash !== undefined && (typeof b.forgetFailedHash !== 'string' || !HEX_HASH.test(b.forgetFailedHash)))
    return { error: 'forgetFailedHash is not a hex hash' };
  if (b.forgetFailedPackageOffers !== undefined && typeof b.forgetFailedPackageOffers !== 'boolean')
    return { error: 'forgetFailedPackageOffers is not a boolean' };
  const change: DesiredStateChange = { reason: b.reason as DesiredStateChangeReason };
  if (b.groups) change.groups = b.groups as string[];
  if (b.configs) change.configs = b.configs as string[];
  if (b.agents) change.agents = b.agents as string[];
  if (b.forgetFailedHash) change.forgetFailedHash = b.forgetFailedHash as string;
  if (b.forgetFailedPackageOffers) change.forgetFailedPackageOffers = true;
  return { change };
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
      const parsed = parseDesiredStateChange(body);
      if ('error' in parsed) {
        this.logger.warn(`malformed desired-state change from replica ${origin} ignored: ${parsed.error}`);
        return;
      }
      const { change } = parsed;
      this.heard.add(change);
      this.events.publish(change);
    });
  }
}
