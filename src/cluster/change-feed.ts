import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PeriodicTask } from '../common/periodic-task';
import { DesiredStateChange, DesiredStateEvents } from '../common/desired-state-events';
import { DesiredStateBridge } from './desired-state-bridge';
import { EventBus } from './event-bus';

/** The resource kinds a watch can follow, by their collection name in the REST API. */
export const WATCH_KINDS = ['agents', 'agentgroups', 'remoteconfigs', 'rollouts', 'users', 'enrollment-tokens'] as const;
export type WatchKind = (typeof WATCH_KINDS)[number];

const KIND_NAMES: Record<WatchKind, string> = {
  agents: 'Agent',
  agentgroups: 'AgentGroup',
  remoteconfigs: 'RemoteConfig',
  rollouts: 'Rollout',
  users: 'User',
  'enrollment-tokens': 'EnrollmentToken',
};
/** Kinds whose lists only admins may read: only admins may watch them. */
export const ADMIN_WATCH_KINDS: readonly WatchKind[] = ['users', 'enrollment-tokens'];

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * What an agent's status event carries: the facts a live list or page shows. Anything else
 * changed (labels, assignment) is a MODIFIED event without status: GET the agent.
 */
export interface AgentStatusFacts {
  connected: boolean;
  transport?: string;
  replica?: string;
  healthy?: boolean;
  /** The agent's remote config status as it reported it (APPLIED, APPLYING, FAILED, UNSET) and its error. */
  remoteConfigStatus?: { status: string; errorMessage?: string };
  /**
   * The packages it runs and their status (INSTALLED, DOWNLOADING, INSTALL_FAILED, …), at most
   * MAX_EVENT_PACKAGES: a live package view moves on an install. Download progress is left out
   * (an event per percent of a download would flood the watchers): GET the agent for it.
   */
  packages?: { name: string; version: string; status: string }[];
}

/** How many packages an agent's status event names; GET the agent for all of them. */
export const MAX_EVENT_PACKAGES = 32;

/** One change as watchers get it. `id` is the resume token (SSE `id:`), minted by the replica where the change happened. */
export interface ResourceChange {
  id: string;
  type: ChangeType;
  kind: WatchKind;
  object: { kind: string; apiVersion: 'v1'; metadata: { name: string }; status?: AgentStatusFacts };
}

/** How long an error message in an agent's status event may be; GET the agent for all of it. */
export const MAX_EVENT_ERROR_CHARS = 64 * 1024;

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export type ChangeListener = (change: ResourceChange) => void;

/** A change heard on the bus, or undefined for anything malformed (the bus is not trusted). */
export function parseResourceChange(body: unknown): ResourceChange | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Partial<ResourceChange>;
  if (typeof b.id !== 'string' || b.id.length > 64) return undefined;
  if (b.type !== 'ADDED' && b.type !== 'MODIFIED' && b.type !== 'DELETED') return undefined;
  if (!(WATCH_KINDS as readonly string[]).includes(b.kind as string)) return undefined;
  const o = b.object;
  if (typeof o !== 'object' || o === null || typeof o.metadata?.name !== 'string' || o.kind !== KIND_NAMES[b.kind as WatchKind]) return undefined;
  if (o.status !== undefined && (typeof o.status !== 'object' || o.status === null || typeof o.status.connected !== 'boolean')) return undefined;
  return b as ResourceChange;
}

const DESIRED_STATE_KINDS: Partial<Record<DesiredStateChange['reason'], { kind: WatchKind; type: ChangeType; names: 'groups' | 'configs' | 'agents' }>> = {
  'agentgroup.created': { kind: 'agentgroups', type: 'ADDED', names: 'groups' },
  'agentgroup.replaced': { kind: 'agentgroups', type: 'MODIFIED', names: 'groups' },
  'agentgroup.deleted': { kind: 'agentgroups', type: 'DELETED', names: 'groups' },
  'remoteconfig.created': { kind: 'remoteconfigs', type: 'ADDED', names: 'configs' },
  'remoteconfig.revised': { kind: 'remoteconfigs', type: 'MODIFIED', names: 'configs' },
  'remoteconfig.updated': { kind: 'remoteconfigs', type: 'MODIFIED', names: 'configs' },
  'remoteconfig.rolledback': { kind: 'remoteconfigs', type: 'MODIFIED', names: 'configs' },
  'remoteconfig.deleted': { kind: 'remoteconfigs', type: 'DELETED', names: 'configs' },
  'agent.labels': { kind: 'agents', type: 'MODIFIED', names: 'agents' },
  'agent.config': { kind: 'agents', type: 'MODIFIED', names: 'agents' },
  'agent.packages': { kind: 'agents', type: 'MODIFIED', names: 'agents' },
};

/**
 * The change stream of the whole fleet, the same on every replica: a change made here (a REST
 * write, an agent connecting to this replica) gets its id here, goes to this replica's watchers
 * and onto the bus (topic 'fleet-change'); a change heard from another replica goes to this
 * replica's watchers with the id its origin gave it. Every replica keeps the last events in a
 * ring, so a watcher that reconnects — to this replica or another — resumes after its last id.
 *
 * Delivery is best effort, as the bus is: while the bus is down, watchers are told so
 * (`busConnected`) and must relist when it returns.
 */
@Injectable()
export class ChangeFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeFeed.name);
  /** Ids are `<boot>-<n>`: a restarted replica starts a new series, so an old id is never taken for a new event. */
  private readonly boot = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly start = `${this.boot}-0`;
  private readonly history: ResourceChange[] = [];
  private readonly positions = new Map<string, number>();
  /** Index in `history` terms of history[0]: positions are absolute, so dropping old events costs nothing. */
  private dropped = 0;
  private readonly listeners = new Set<ChangeListener>();
  private readonly busListeners = new Set<(connected: boolean) => void>();
  private unsubscribe?: () => void;
  private readonly busPoll = new PeriodicTask(
    async () => this.checkBus(),
    (e) => this.logger.warn(`bus check failed: ${e}`),
  );
  private lastBusConnected: boolean;
  /** The last status facts told of each agent from this replica, so a report that changes none of them tells nothing. */
  private readonly told = new Map<string, { key: string; status: AgentStatusFacts }>();
  private readonly historySize: number;

  constructor(
    private readonly bus: EventBus,
    private readonly events: DesiredStateEvents,
    private readonly bridge: DesiredStateBridge,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.lastBusConnected = bus.connected;
    this.historySize = config.watch.historyEvents;
    // Before any event, a watcher still gets an id to resume from: the start of this replica's series.
    this.positions.set(this.start, -1);
  }

  onApplicationBootstrap(): void {
    this.events.on('changed', (change) => {
      // Changes heard from another replica come with their own feed event on 'fleet-change'.
      if (this.bridge.fromBus(change)) return;
      const how = DESIRED_STATE_KINDS[change.reason];
      if (!how) return;
      for (const name of change[how.names] ?? []) this.emit(how.type, how.kind, { name });
    });
    this.unsubscribe = this.bus.subscribe('fleet-change', (body, origin) => {
      const change = parseResourceChange(body);
      if (!change) {
        this.logger.warn(`malformed fleet change from replica ${origin} ignored`);
        return;
      }
      this.deliver(change);
    });
    // The bus has no connection callback for everyone; a cheap look once a second tells watchers when it goes down or comes back.
    if (this.bus.kind !== 'in-process') {
      this.busPoll.start(1000);
    }
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    void this.busPoll.stop();
  }

  /** False while a real bus is unreachable: changes on other replicas are then not heard. */
  get busConnected(): boolean {
    return this.bus.connected;
  }

  /** The id of the newest event this replica has (before the first: the start of its series). */
  get latestId(): string {
    return this.history.at(-1)?.id ?? this.start;
  }

  /** Events after `id`, oldest first; undefined when `id` is not (or no longer) in the history. */
  since(id: string): ResourceChange[] | undefined {
    const at = this.positions.get(id);
    if (at === undefined) return undefined;
    return this.history.slice(at - this.dropped + 1);
  }

  /** Hears every change from now on; returns the unsubscribe function. */
  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hears the bus going down (false) and coming back (true). */
  onBusChange(listener: (connected: boolean) => void): () => void {
    this.busListeners.add(listener);
    return () => this.busListeners.delete(listener);
  }

  /**
   * An agent's status as this replica just stored it (the facts a report carried, on top of
   * what was last told of it from here): told to watchers when connection, health or remote
   * config status differ from what was last told.
   */
  agentStatus(uid: string, facts: Partial<AgentStatusFacts> & { connected: boolean }): void {
    const before = this.told.get(uid);
    const status: AgentStatusFacts = facts.connected ? { ...before?.status, ...dropUndefined(facts) } : { ...dropUndefined(facts) };
    const rcs = status.remoteConfigStatus;
    if (rcs?.errorMessage && rcs.errorMessage.length > MAX_EVENT_ERROR_CHARS) {
      status.remoteConfigStatus = { ...rcs, errorMessage: rcs.errorMessage.slice(0, MAX_EVENT_ERROR_CHARS) };
    }
    const key = JSON.stringify(status);
    if (before?.key === key) return;
    // Kept per agent this replica has told of; a disconnect forgets it, and a bound keeps HTTP agents that vanish from piling up.
    if (!status.connected) this.told.delete(uid);
    else {
      if (this.told.size >= 200_000) this.told.clear();
      this.told.set(uid, { key, status });
    }
    this.emit('MODIFIED', 'agents', { name: uid }, status);
  }

  /**
   * A resource whose changes are not desired-state changes was written (a rollout: created, each
   * committed step or action, deleted; a user or an enrollment token an admin changed): watchers
   * GET it for what changed.
   */
  resourceChanged(kind: Exclude<WatchKind, 'agents'>, type: ChangeType, name: string): void {
    this.emit(type, kind, { name });
  }

  /** An agent deleted through the API. */
  agentDeleted(uid: string): void {
    this.told.delete(uid);
    this.emit('DELETED', 'agents', { name: uid });
  }

  private emit(type: ChangeType, kind: WatchKind, metadata: { name: string }, status?: AgentStatusFacts): void {
    const change: ResourceChange = {
      id: `${this.boot}-${++this.seq}`,
      type,
      kind,
      object: { kind: KIND_NAMES[kind], apiVersion: 'v1', metadata, ...(status ? { status } : {}) },
    };
    this.deliver(change);
    this.bus.publish('fleet-change', change);
  }

  private deliver(change: ResourceChange): void {
    if (this.positions.has(change.id)) return;
    // What another replica told of an agent counts as told here too: an HTTP agent polls any replica, and its
    // next poll here must be told as a change when another replica has told it disconnected meanwhile.
    const status = change.kind === 'agents' ? change.object.status : undefined;
    if (status) {
      if (status.connected) {
        if (this.told.size >= 200_000) this.told.clear();
        this.told.set(change.object.metadata.name, { key: JSON.stringify(status), status });
      } else this.told.delete(change.object.metadata.name);
    }
    this.positions.set(change.id, this.dropped + this.history.length);
    this.history.push(change);
    // Trimmed in slices of a tenth, so that a full history does not move 10,000 entries per event.
    if (this.history.length > this.historySize + Math.max(1, Math.floor(this.historySize / 10))) {
      const old = this.history.splice(0, this.history.length - this.historySize);
      for (const c of old) this.positions.delete(c.id);
      this.positions.delete(this.start);
      this.dropped += old.length;
    }
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.logger.error(`watch listener failed: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }

  private checkBus(): void {
    const now = this.bus.connected;
    if (now === this.lastBusConnected) return;
    this.lastBusConnected = now;
    for (const l of this.busListeners) l(now);
  }
}
