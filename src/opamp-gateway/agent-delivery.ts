import { configDrift, configShape, sameDrift } from './config-drift';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Agent, PackageRefusal } from '../agents/agent.schema';
import { AuditService } from '../audit/audit.service';
import { planPackages, type DesiredPackage } from '../desired-state/package-policy';
import type { AgentPlatform } from '../packages/package-catalogue';
import { allPackagesHash, packageHash } from '../protocol/package-hash';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DesiredStateService } from '../desired-state/desired-state.service';
import type { AgentView, DesiredConfig, DesiredConfigProblem, DesiredConnectionSettings } from '../desired-state/desired-state.types';
import { buildOffers } from './connection-settings-offers';
import { ConnectionSettingsOffer, decideDelivery, decidePackages, OfferedPackage, PackagesOffer, settledPackageStatuses } from './delivery-policy';
import { packageTerms } from '../agents/agent-report.mapper';
import { buildPackagesAvailable, buildRemoteConfig, OutgoingParts } from './protocol/server-to-agent.builder';
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
  assignedPackages: AgentView['assignedPackages'];
  capabilities: bigint;
  ownMetrics: OwnMetricsDestination | undefined;
  config: DesiredConfig | DesiredConfigProblem | undefined;
  settings: DesiredConnectionSettings | undefined;
  offer: ConnectionSettingsOffer | undefined;
  /** The packages the agent should run (names and versions; the offer is made from them and what it runs). */
  packages: DesiredPackage[];
}

/** How an agent reaches this server's package downloads: the base URL and the headers that admit it. */
export interface PackageAccess {
  baseUrl?: string;
  headers: Record<string, string>;
}

/** The packages offer last made for a session, kept while what it is made of is the same. */
export interface PackagesOfferMemo {
  desired: DesiredMemo;
  statuses: SessionState['holds']['packageStatuses'];
  baseUrl?: string;
  offer: PackagesOffer | undefined;
}

/**
 * Carries out the delivery policy for one agent, the same way for an answer and for a push:
 * gathers the facts (what desired state says the agent should have, remembered per session
 * while nothing it depends on changes), asks the policy, puts what it decided to send into the
 * outgoing message and notes in the session what was sent.
 */
@Injectable()
export class AgentDelivery {
  private readonly logger = new Logger('OpampPackages');

  constructor(
    private readonly desired: DesiredStateService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly audit?: AuditService,
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
      lastOfferAt: holds.connectionSettingsOffer?.lastSentAt,
      lastOfferRollout: holds.connectionSettingsOffer?.rollout,
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
    const drift = this.drift(state, desired);
    if (!sameDrift(holds.configDrift ?? undefined, drift)) {
      const stored = drift ? { ...drift, since: new Date() } : null;
      store.configDrift = stored;
      holds.configDrift = stored;
    }
    if (decision.connectionSettings) out.connectionSettings = decision.connectionSettings;
    if (decision.offerSent) {
      store.connectionSettingsOffer = decision.offerSent;
      holds.connectionSettingsOffer = decision.offerSent;
    }
    const offer = await this.packagesOffer(state, desired);
    const settled = settledPackageStatuses(holds.packageStatuses, offer);
    if (settled) {
      store.packageStatuses = settled;
      store.packageTerms = packageTerms(settled);
      holds.packageStatuses = settled;
    }
    const packages = decidePackages({
      capabilities: state.capabilities,
      offer,
      reported: holds.packageStatuses,
      tracking: holds.packageOffer,
      sentThisSession: state.sentPackagesHash,
      now: new Date(),
    });
    if (packages.send) {
      state.sentPackagesHash = packages.send.hashHex;
      const access = state.packageAccess;
      out.packagesAvailable = buildPackagesAvailable(packages.send, access?.headers, access?.baseUrl);
      this.auditDowngrades(holds._id, packages.send);
    }
    if (packages.tracking !== undefined) {
      store.packageOffer = packages.tracking;
      holds.packageOffer = packages.tracking;
    }
    return store;
  }

  /**
   * The packages offer due to the agent: the policy's plan (forward-only, from what it reports
   * it runs) with each version's file from the catalogue, and the offer's hashes. A version that
   * cannot be offered (not catalogued, no file for the agent's platform) is refused: the agent
   * keeps what it runs of that package, or is not offered it. Kept in the session while the
   * desired state, the reported statuses and the download address are the same.
   */
  private async packagesOffer(state: SessionState, desired: DesiredMemo): Promise<PackagesOffer | undefined> {
    if (desired.packages.length === 0) return undefined;
    const statuses = state.holds.packageStatuses;
    const baseUrl = state.packageAccess?.baseUrl;
    const m = state.packagesOffer;
    if (m && m.desired === desired && m.statuses === statuses && m.baseUrl === baseUrl) return m.offer;
    const platform = platformOf(state.holds.description);
    const refused: PackageRefusal[] = [];
    const packages: OfferedPackage[] = [];
    const origins = new Set<string>();
    for (const entry of planPackages(desired.packages, statuses?.packages)) {
      origins.add(entry.desired.origin);
      if (entry.refusal) refused.push({ name: entry.name, version: entry.desired.version, installedVersion: entry.installedVersion, reason: entry.refusal });
      const resolved = baseUrl
        ? await this.desired.resolvePackage(entry.name, entry.version, platform, baseUrl)
        : { error: 'the address agents download packages from is unknown (set OPAMP_OFFER_PACKAGES_BASE_URL)' };
      if (resolved.error === undefined) {
        const contentHash = resolved.file.contentHash;
        // A package the agent keeps is offered under the hash it reports, so it downloads nothing.
        const hash =
          entry.action === 'keep' && entry.installedHash
            ? Buffer.from(entry.installedHash, 'hex')
            : packageHash({ name: entry.name, version: entry.version, contentHash });
        packages.push({
          name: entry.name,
          version: entry.version,
          type: resolved.type,
          hash,
          hashHex: Buffer.from(hash).toString('hex'),
          file: resolved.file,
          downgradeFrom: entry.downgrade ? entry.installedVersion : undefined,
        });
        continue;
      }
      if (entry.action === 'install')
        refused.push({ name: entry.name, version: entry.version, installedVersion: entry.installedVersion, reason: resolved.error });
      // What the agent runs stays offered (an offer without it would make the agent remove it), under its own hash.
      if (entry.installedVersion && entry.installedHash) {
        const hash = Buffer.from(entry.installedHash, 'hex');
        packages.push({ name: entry.name, version: entry.installedVersion, type: 'top-level', hash, hashHex: entry.installedHash });
      }
    }
    const hash = allPackagesHash(packages.map((p) => ({ name: p.name, version: p.version, contentHash: p.file?.contentHash ?? new Uint8Array() })));
    const offer: PackagesOffer = { packages, hash, hashHex: hash.toString('hex'), origin: [...origins].sort().join('+'), refused };
    state.packagesOffer = { desired, statuses, baseUrl, offer };
    return offer;
  }

  /** A forced downgrade is recorded in the audit log when it is offered. */
  private auditDowngrades(uid: string | undefined, offer: PackagesOffer): void {
    const down = offer.packages.filter((p) => p.downgradeFrom);
    if (!down.length || !uid || !this.audit) return;
    const summary = down.map((p) => `${p.name} ${p.downgradeFrom} → ${p.version}`).join(', ');
    this.logger.log(`offering ${uid} a forced downgrade: ${summary}`);
    void this.audit.record({
      actor: { username: 'system:packages' },
      action: 'package-downgrade',
      resource: { kind: 'agents', name: uid },
      summary: `forced downgrade offered (${offer.origin}): ${summary}`,
    });
  }

  /** ConfigDrift from what the session knows: the desired map's pipelines, the effective config's, the reported status. */
  private drift(state: SessionState, desired: DesiredMemo) {
    const config = desired.config && 'entries' in desired.config ? desired.config : undefined;
    if (config && state.desiredShape?.hash !== config.hashHex) state.desiredShape = { hash: config.hashHex, shape: configShape(config.entries) };
    const t = state.holds.remoteConfig;
    return configDrift({
      desiredHash: config?.hashHex,
      desiredShape: config ? state.desiredShape?.shape : undefined,
      effectiveShape: state.effectiveShape,
      reported: state.holds.remoteConfigStatus,
      sent: { hash: t?.lastSentHash, at: t?.lastSentAt ? new Date(t.lastSentAt) : undefined },
      now: new Date(),
    });
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
      m.assignedPackages === view.assignedPackages &&
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
      assignedPackages: view.assignedPackages,
      capabilities: state.capabilities,
      ownMetrics: state.ownMetrics,
    };
    const config = await this.desired.configFor(view);
    const settings = await this.desired.connectionSettingsFor(view, basis.ownMetrics);
    const offer = settings && buildOffers(settings.settings, state.capabilities, this.config.opamp.heartbeatIntervalSeconds);
    const packages = await this.desired.packagesFor(view);
    const memo: DesiredMemo = { generation: this.desired.generation ?? -1, ...basis, config, settings, offer, packages };
    // Kept only when no reload ran meanwhile (an answer derived across a reload may mix old and new).
    if (generation !== undefined && memo.generation === generation) state.desired = memo;
    return memo;
  }
}

/** Where the agent runs, from its description (`os.type`, `host.arch`), for the catalogue's choice of file. */
function platformOf(d: SessionState['holds']['description']): AgentPlatform {
  const attrs = [...(d?.identifying ?? []), ...(d?.nonIdentifying ?? [])];
  const text = (key: string) => {
    const v = attrs.find((a) => a.key === key)?.value;
    return typeof v === 'string' && v ? v : undefined;
  };
  return { os: text('os.type'), arch: text('host.arch') };
}
