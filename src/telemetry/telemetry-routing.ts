import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AgentsRepository } from '../agents/agents.repository';
import { BusUnreachableError, EventBus } from '../cluster/event-bus';
import { UnavailableError } from '../common/domain-errors';
import { FreshCache } from '../common/fresh-cache';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { WindowPoint } from './telemetry-window';
import { StoredAgentFacts, TelemetryService } from './telemetry.service';

/** How long a request to the holding replica may take before this replica gives up on it. */
const ROUTE_TIMEOUT_MS = 2_000;
/** How long the holder of an agent looked up in the database is believed (agents rarely move). */
const HOLDER_FRESH_MS = 10_000;

type TelemetryRequest =
  { op: 'ingest'; uid: string; points: WindowPoint[]; ignored: number; bearer?: string } | { op: 'read'; uid: string; facts: StoredAgentFacts };

/** What the holder answered to forwarded points: how many it ignored, or why it refused them all. */
export type ForwardAnswer = { skipped: number } | { refusal: string };

/**
 * One window per agent, on the replica that holds its OpAMP connection, readable from any
 * replica. The holder knows what the window's conditions need (connected, healthy, whether the
 * agent was offered own metrics, its credential); a load balancer may send the agent's metrics to
 * any replica, so a replica that receives metrics of an agent held elsewhere forwards the points
 * to the holder over the event bus, and a read on a replica without the window asks the holder.
 * When the holder cannot be asked (no bus, bus down, replica gone) the points are kept where they
 * arrived, so nothing an agent sent is lost; the window is then split until the agent moves.
 */
@Injectable()
export class TelemetryRouting implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('TelemetryRouting');
  /** uid → the replica holding its OpAMP connection ('' when none), from the database. */
  private readonly holders = new FreshCache<string, string>(HOLDER_FRESH_MS, 100_000);
  private stopServing: () => void = () => {};

  constructor(
    private readonly telemetry: TelemetryService,
    private readonly agents: AgentsRepository,
    private readonly bus: EventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.stopServing = this.bus.serve('telemetry', async (body) => this.answer(body as TelemetryRequest));
  }

  onModuleDestroy(): void {
    this.stopServing();
  }

  get self(): string {
    return this.config.replicaId;
  }

  /** Of `uids`, the replica each is held by when that is another replica this one can ask. */
  async remoteHolders(uids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (this.bus.kind === 'in-process') return out;
    const ask: string[] = [];
    for (const uid of uids) {
      if (this.telemetry.heldHere(uid)) continue;
      const known = this.holders.fresh(uid);
      if (known === undefined) ask.push(uid);
      else if (known && known !== this.self) out.set(uid, known);
    }
    if (ask.length) {
      const docs = await this.agents.findByIds(ask, { 'connection.replicaId': 1, 'connection.connected': 1 });
      const found = new Map(docs.map((d) => [d._id, d.connection?.connected ? (d.connection.replicaId ?? '') : '']));
      for (const uid of ask) {
        const holder = found.get(uid) ?? '';
        this.holders.set(uid, holder);
        if (holder && holder !== this.self) out.set(uid, holder);
      }
    }
    return out;
  }

  /** Sends points to the agent's holder; undefined when it cannot be reached (the caller keeps them here). */
  async forward(holder: string, uid: string, points: WindowPoint[], ignored: number, bearer: string | undefined): Promise<ForwardAnswer | undefined> {
    try {
      return (await this.bus.request('telemetry', holder, { op: 'ingest', uid, points, ignored, bearer }, ROUTE_TIMEOUT_MS)) as ForwardAnswer;
    } catch (e) {
      if (!(e instanceof BusUnreachableError)) throw e;
      this.holders.forget(uid);
      this.logger.debug(`metrics of ${uid} kept here: its holder ${holder} cannot be reached (${e.message})`);
      return undefined;
    }
  }

  /**
   * The agent's telemetry as its holder shows it (only `conditions` when it holds no window);
   * undefined when the holder is gone or silent.
   * A bus that is down is a fault of this server: 503 with Retry-After.
   */
  async read(holder: string, uid: string, facts: StoredAgentFacts): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.bus.request('telemetry', holder, { op: 'read', uid, facts }, ROUTE_TIMEOUT_MS)) as Record<string, unknown> | undefined;
    } catch (e) {
      if (!(e instanceof BusUnreachableError)) throw e;
      if (e.busDown)
        throw new UnavailableError(
          `the telemetry of agent ${uid} is held by replica ${holder}, and the event bus to it is down: ${e.message}`,
          this.config.opamp.retryAfterSeconds,
        );
      return undefined;
    }
  }

  /**
   * The agent's conditions: the holder's when it is connected to another replica this one can ask,
   * else this replica's (a holder that cannot be asked does not fail the agent's page).
   */
  async conditionsOf(uid: string, facts: StoredAgentFacts & { replicaId?: string }): Promise<unknown[]> {
    const holder = facts.connected && facts.replicaId && facts.replicaId !== this.self && this.bus.kind !== 'in-process' ? facts.replicaId : undefined;
    if (holder) {
      const remote = await this.read(holder, uid, { connected: facts.connected, healthy: facts.healthy }).catch(() => undefined);
      if (remote && Array.isArray(remote.conditions)) return remote.conditions;
    }
    return this.telemetry.conditionsOf(uid, facts);
  }

  private answer(request: TelemetryRequest): unknown {
    // Without a window the holder still knows the conditions (Stale: expected to send, sent nothing).
    if (request.op === 'read')
      return this.telemetry.telemetryOf(request.uid, request.facts) ?? { conditions: this.telemetry.conditionsOf(request.uid, request.facts) };
    const held = this.telemetry.bearerOf(request.uid);
    if (held && request.bearer && held !== request.bearer)
      return { refusal: `metrics of agent ${request.uid} must be sent with the credential it connects with` };
    const skipped = this.telemetry.ingest(request.uid, request.points, request.ignored);
    return skipped === undefined ? { refusal: 'this server keeps no more agent windows (capacity reached)' } : { skipped };
  }
}
