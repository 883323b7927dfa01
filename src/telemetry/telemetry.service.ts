import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AgentsService } from '../agents/agents.service';
import { FreshCache } from '../common/fresh-cache';
import { PeriodicTask } from '../common/periodic-task';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AgentCondition, ConditionThresholds, ConditionType, evaluateConditions } from './agent-conditions';
import { OwnTelemetrySummary, ownTelemetrySummary, SummaryRates, summaryChanged } from './telemetry-summary';
import { BUCKET_MS, BUCKETS, TelemetryWindow, WindowPoint } from './telemetry-window';

/** Most agents with a window on one replica; metrics of further agents are refused (partial success). */
export const MAX_AGENT_WINDOWS = 50_000;
/** Restarts within an hour that make an agent Restarting. */
const RESTART_THRESHOLD = 3;

/** What this replica knows of one agent's own telemetry. */
interface AgentTelemetry {
  window?: TelemetryWindow;
  /** Receivers and exporters seen (bounded by TELEMETRY_MAX_COMPONENTS each). */
  components: Set<string>;
  lastReceivedMs?: number;
  reports: number;
  /** From its OpAMP messages on this replica. */
  opampSeenMs?: number;
  expectsOwnMetrics: boolean;
  expectedSinceMs?: number;
  bearer?: string;
  healthy?: boolean;
  /** Last status of each condition and since when (the `since` of status.conditions). */
  conditions: Map<ConditionType, { status: string; sinceMs: number }>;
  /** The summary last written to the agent's document (Agent.ownTelemetry), so only changes are written. */
  published?: OwnTelemetrySummary;
}

/** Facts from the agent's stored document, which win over this replica's memory (the agent may be connected elsewhere). */
export interface StoredAgentFacts {
  connected: boolean;
  healthy?: boolean;
}

/**
 * Agents' own telemetry on this replica: one bounded rolling window per agent that sends its
 * own metrics here, what the OpAMP sessions tell of them (connected, healthy, expected to
 * send), and the conditions derived from both. In memory only: the window lives on the replica
 * that holds the agent's OpAMP connection; metrics that arrive elsewhere are forwarded to it and
 * reads elsewhere ask it (telemetry-routing.ts).
 */
@Injectable()
export class TelemetryService implements OnModuleInit, OnApplicationShutdown {
  private readonly agents = new Map<string, AgentTelemetry>();
  /** Whether a uid names a stored agent (the receiver refuses metrics of unknown ones). */
  private readonly known = new FreshCache<string, boolean>(5 * 60_000, 100_000);
  private readonly unknownFresh = new FreshCache<string, boolean>(15_000, 10_000);
  private readonly sweeper = new PeriodicTask(
    async () => this.sweep(),
    () => undefined,
  );
  private readonly publisher = new PeriodicTask(
    async () => void (await this.publish()),
    () => undefined,
  );
  readonly thresholds: ConditionThresholds;
  /** Set by the OpAMP gateway: whether this replica serves the agent now. */
  private connectedProbe: (uid: string) => boolean = () => false;

  constructor(
    private readonly store: AgentsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const t = config.telemetry;
    this.thresholds = {
      idleSeconds: t.idleSeconds,
      staleSeconds: t.staleSeconds,
      exportFailingRatio: t.exportFailingRatio,
      exportFailingSeconds: t.exportFailingSeconds,
      restartThreshold: RESTART_THRESHOLD,
    };
  }

  onModuleInit(): void {
    this.sweeper.start(60_000);
    // Once a bucket: conditions and rates cannot change faster than the window's resolution.
    this.publisher.start(BUCKET_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
    await this.publisher.stop();
  }

  setConnectedProbe(probe: (uid: string) => boolean): void {
    this.connectedProbe = probe;
  }

  /** Whether this replica holds the agent's OpAMP connection now (then it holds its window too: telemetry-routing.ts). */
  heldHere(uid: string): boolean {
    return this.connectedProbe(uid);
  }

  /** An OpAMP message of the agent reached this replica. */
  observeAgent(uid: string, facts: { reportsOwnMetrics: boolean; expected: boolean; bearer?: string; healthy?: boolean }, nowMs = Date.now()): void {
    let a = this.agents.get(uid);
    if (!a) {
      if (!facts.reportsOwnMetrics) return;
      a = { components: new Set(), reports: 0, expectsOwnMetrics: false, conditions: new Map() };
      this.agents.set(uid, a);
    }
    // A new run (silent for 3 heartbeats) starts the Stale clock again.
    const silentMs = 3 * this.config.opamp.heartbeatIntervalSeconds * 1000;
    if (a.opampSeenMs === undefined || nowMs - a.opampSeenMs > silentMs) a.expectedSinceMs = nowMs;
    a.opampSeenMs = nowMs;
    a.expectsOwnMetrics = facts.reportsOwnMetrics && facts.expected;
    a.bearer = facts.bearer;
    if (facts.healthy !== undefined) a.healthy = facts.healthy;
    this.known.set(uid, true);
  }

  /** The bearer credential the agent's OpAMP connection on this replica used, if known. */
  bearerOf(uid: string): string | undefined {
    return this.agents.get(uid)?.bearer;
  }

  /** Of `uids`, those that name stored agents (cached; unknown ones are asked again after 15 s). */
  async knownAgents(uids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const ask: string[] = [];
    for (const uid of uids) {
      if (this.agents.has(uid) || this.known.fresh(uid)) out.add(uid);
      else if (!this.unknownFresh.fresh(uid)) ask.push(uid);
    }
    if (ask.length) {
      const found = await this.store.viewsOf(ask);
      for (const uid of ask) {
        if (found.has(uid)) {
          this.known.set(uid, true);
          out.add(uid);
        } else {
          this.unknownFresh.set(uid, true);
        }
      }
    }
    return out;
  }

  /** Takes one report's points for an agent; returns the number ignored, or undefined when no window can be had (capacity). */
  ingest(uid: string, points: WindowPoint[], ignored: number, nowMs = Date.now()): number | undefined {
    let a = this.agents.get(uid);
    if (!a) {
      if (this.agents.size >= MAX_AGENT_WINDOWS) return undefined;
      a = { components: new Set(), reports: 0, expectsOwnMetrics: false, conditions: new Map() };
      this.agents.set(uid, a);
    }
    a.window ??= new TelemetryWindow();
    a.lastReceivedMs = nowMs;
    a.reports++;
    const n = a.window.add(points) + ignored;
    this.conditionsOf(uid, undefined, nowMs);
    return n;
  }

  componentsOf(uid: string): Set<string> {
    let a = this.agents.get(uid);
    if (!a) {
      a = { components: new Set(), reports: 0, expectsOwnMetrics: false, conditions: new Map() };
      this.agents.set(uid, a);
    }
    return a.components;
  }

  /** The agent's conditions now; `stored` (its document) says whether it is connected and healthy. */
  conditionsOf(uid: string, stored?: StoredAgentFacts, nowMs = Date.now()): AgentCondition[] {
    const a = this.agents.get(uid);
    if (!a) return [];
    const connected =
      stored?.connected ??
      (this.connectedProbe(uid) || (a.opampSeenMs !== undefined && nowMs - a.opampSeenMs < 3 * this.config.opamp.heartbeatIntervalSeconds * 1000));
    const healthy = stored ? stored.healthy : a.healthy;
    const evaluated = evaluateConditions(
      {
        nowMs,
        connected,
        healthy,
        expectsOwnMetrics: a.expectsOwnMetrics,
        expectedSinceMs: a.expectedSinceMs,
        lastReceivedMs: a.lastReceivedMs,
        window: a.window,
      },
      this.thresholds,
    );
    return evaluated.map((c) => {
      let memo = a.conditions.get(c.type);
      if (!memo || memo.status !== c.status) {
        memo = { status: c.status, sinceMs: nowMs };
        a.conditions.set(c.type, memo);
      }
      return { ...c, since: new Date(memo.sinceMs).toISOString() };
    });
  }

  /** The agent's window as the API shows it, or undefined when this replica holds none. */
  telemetryOf(uid: string, stored?: StoredAgentFacts, nowMs = Date.now()) {
    const a = this.agents.get(uid);
    if (!a?.window) return undefined;
    const w = a.window;
    const view = w.view();
    const rate = (f: Parameters<TelemetryWindow['rate']>[0]) => Math.round(w.rate(f) * 1000) / 1000;
    return {
      lastReceivedAt: a.lastReceivedMs === undefined ? undefined : new Date(a.lastReceivedMs).toISOString(),
      lastPointAt: w.lastPointMs === undefined ? undefined : new Date(w.lastPointMs).toISOString(),
      reports: a.reports,
      ignoredPoints: w.ignored,
      current: {
        acceptedPerSecond: rate('receiver_accepted'),
        refusedPerSecond: rate('receiver_refused'),
        sentPerSecond: rate('exporter_sent'),
        sendFailedPerSecond: rate('exporter_send_failed'),
        exportFailureRatio: Math.round(ratesOf(w).exportFailureRatio * 10_000) / 10_000,
        queueSize: nullIfNaN(w.gauge('exporter_queue_size')),
        queueCapacity: nullIfNaN(w.gauge('exporter_queue_capacity')),
        cpuSecondsPerSecond: rate('process_cpu_seconds'),
        rssBytes: nullIfNaN(w.gauge('process_memory_rss')),
        uptimeSeconds: nullIfNaN(w.gauge('process_uptime')),
      },
      window: { start: new Date(view.startMs).toISOString(), stepSeconds: view.stepSeconds, buckets: BUCKETS, series: view.series },
      conditions: this.conditionsOf(uid, stored, nowMs),
    };
  }

  /**
   * Writes the own-telemetry summary (conditions that are True, rates) of every agent known here
   * whose summary changed materially since it was last written (telemetry-summary.ts), so lists
   * can filter on it. The agents service stores it only while the agent is connected to this
   * replica by its stored record. Returns how many were written.
   */
  async publish(nowMs = Date.now()): Promise<number> {
    const writes: Promise<void>[] = [];
    for (const [uid, a] of this.agents) {
      const next = ownTelemetrySummary(this.conditionsOf(uid, undefined, nowMs), a.window ? ratesOf(a.window) : NO_RATES);
      if (!summaryChanged(a.published, next)) continue;
      a.published = next;
      writes.push(
        this.store.recordOwnTelemetry(uid, { ...next, at: new Date(nowMs) }).catch(() => {
          a.published = undefined; // written again at the next round
        }),
      );
    }
    await Promise.all(writes);
    return writes.length;
  }

  /** Agents with each condition True on this replica (Prometheus). */
  conditionCounts(nowMs = Date.now()): Record<ConditionType, number> {
    const counts: Record<ConditionType, number> = { Idle: 0, ExportFailing: 0, Stale: 0, Restarting: 0 };
    for (const uid of this.agents.keys()) for (const c of this.conditionsOf(uid, undefined, nowMs)) if (c.status === 'True') counts[c.type]++;
    return counts;
  }

  get windows(): number {
    let n = 0;
    for (const a of this.agents.values()) if (a.window) n++;
    return n;
  }

  /** Forgets agents neither seen over OpAMP nor sending metrics for longer than the window. */
  sweep(nowMs = Date.now()): void {
    const horizon = nowMs - BUCKETS * BUCKET_MS;
    for (const [uid, a] of this.agents) {
      if ((a.opampSeenMs ?? -Infinity) < horizon && (a.lastReceivedMs ?? -Infinity) < horizon) this.agents.delete(uid);
    }
  }
}

const NO_RATES: SummaryRates = { acceptedPerSecond: 0, sentPerSecond: 0, exportFailureRatio: 0 };

/** Items per second over the agent's latest report interval. */
function ratesOf(w: TelemetryWindow): SummaryRates {
  const sent = w.rate('exporter_sent');
  const failed = w.rate('exporter_send_failed');
  return { acceptedPerSecond: w.rate('receiver_accepted'), sentPerSecond: sent, exportFailureRatio: sent + failed > 0 ? failed / (sent + failed) : 0 };
}

function nullIfNaN(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
