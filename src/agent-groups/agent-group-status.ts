import type { FilterQuery } from 'mongoose';
import type { Agent } from '../agents/agent.schema';
import type { AgentsRepository } from '../agents/agents.repository';
import { SelectorRequirement, selectorToTermsFilter } from '../common/selectors';
import { excludedTermsOnly, SELECTOR_TERMS_FIELD } from '../common/selectors/selector-terms';
import { governedQuery, originText, OWN_CONFIG_FILTER, packagesGovernedQuery, RankedGroup } from '../desired-state/config-precedence';
import { isOlderVersion } from '../desired-state/package-policy';
import type { PackageRef } from '../agents/agent-package-assignment';
import type { PackageCatalogue } from '../packages/package-catalogue';
import type { AgentGroupStatus, GroupPackageStatus, OverriddenBy } from './agent-group.mapper';

/** How many catalogued versions of a package a group's status counts agents for (the newest). */
const MAX_COUNTED_VERSIONS = 20;

const CONFIG_STATES = ['applied', 'applying', 'failed', 'pending'] as const;
type ConfigState = (typeof CONFIG_STATES)[number];

const both = (...f: FilterQuery<Agent>[]): FilterQuery<Agent> => {
  const parts = f.filter((x) => Object.keys(x).length > 0);
  return parts.length === 0 ? {} : parts.length === 1 ? parts[0] : { $and: parts };
};

/**
 * A group's status counts, over the agents it GOVERNS (its config is theirs, by the rule of
 * src/desired-state/config-precedence.ts), plus how many it matches that another group or the
 * agent's own config governs, and which. "applied" means this group's config is applied: the
 * delivery tracking must be for this group's config (its origin), not a config from elsewhere.
 * Cost: five counts where no other group overlaps (one of them a grouped count of the delivery
 * states), each on the selector's index; one more per overlapping group only when some overlap.
 */
export class AgentGroupStatusCounter {
  constructor(
    private readonly agents: AgentsRepository,
    /** Conditions for "connected" (HTTP agents until they miss polls), from the agents module. */
    private readonly connected: () => FilterQuery<Agent>,
    /** The package catalogue, for the versions a package's agents are counted by (none: only the named version). */
    private readonly catalogue?: Pick<PackageCatalogue, 'versions'>,
  ) {}

  /**
   * `active` is every active group in precedence order; a group not among them (deleted) governs
   * nothing. `packages`: what the group names, counted per package (see packageStatus).
   */
  async status(name: string, active: readonly RankedGroup[], packages: readonly PackageRef[] = []): Promise<AgentGroupStatus> {
    const rule = governedQuery(active, name);
    if (!rule) return emptyStatus();
    const { requirements } = rule;
    const governed = rule.extra as FilterQuery<Agent>;
    const connected = this.connected();
    const count = (extra: FilterQuery<Agent>) => this.agents.countSelected(requirements, extra);
    const [matched, agents, connectedCount, healthy, grouped] = await Promise.all([
      count({}),
      count(governed),
      count(both(governed, connected)),
      count(both(governed, connected, { 'health.healthy': true })),
      this.deliveryStates(requirements, governed, originText({ kind: 'group', group: name })),
    ]);
    const matchedNotGoverned = Math.max(0, matched - agents);
    const overriddenBy = matchedNotGoverned > 0 ? await this.overriders(name, active, matchedNotGoverned) : [];
    const status: AgentGroupStatus = {
      agents,
      connected: connectedCount,
      healthy,
      config: grouped.config,
      ownTelemetry: grouped.ownTelemetry,
      matchedNotGoverned,
      overriddenBy,
    };
    if (packages.length) status.packages = await Promise.all(packages.map((p) => this.packageStatus(name, active, p)));
    return status;
  }

  /**
   * One named package over the agents whose packages come from this group: how many run each
   * version, and how many are current, behind, ahead, failed or installing. Every figure is a
   * count of one indexed package term (`pkg:NAME@VERSION`, …) under the group's selector; no
   * agent document is read.
   */
  private async packageStatus(name: string, active: readonly RankedGroup[], p: PackageRef): Promise<GroupPackageStatus> {
    const rule = packagesGovernedQuery(active, name)!;
    const catalogued = this.catalogue ? (await this.catalogue.versions(p.name)).slice(0, MAX_COUNTED_VERSIONS).map((v) => v.version) : [];
    const versions = [...new Set([p.version, ...catalogued])];
    const count = (terms?: string[]) =>
      this.agents.countSelected(
        rule.requirements,
        both(rule.extra as FilterQuery<Agent>, !terms ? {} : terms.length === 1 ? { packageTerms: terms[0] } : { packageTerms: { $in: terms } }),
      );
    const term = (suffix: string) => `pkg:${p.name}${suffix}`;
    const [governed, reported, failed, installing, ...perVersion] = await Promise.all([
      count(),
      count([term('')]),
      count([term('#INSTALL_FAILED')]),
      // An agent reports one status per package: one count over the three.
      count([term('#DOWNLOADING'), term('#INSTALLING'), term('#INSTALL_PENDING')]),
      ...versions.map((v) => count([term(`@${v}`)])),
    ]);
    const byVersion = versions.map((version, i) => ({ version, agents: perVersion[i] }));
    const current = byVersion[0].agents;
    const ahead = byVersion.filter((v) => isOlderVersion(p.version, v.version)).reduce((n, v) => n + v.agents, 0);
    return {
      name: p.name,
      version: p.version,
      versions: byVersion.filter((v, i) => i === 0 || v.agents > 0),
      current,
      behind: Math.max(0, reported - current - ahead),
      ahead,
      notReported: Math.max(0, governed - reported),
      failed,
      installing,
    };
  }

  /**
   * Delivery states of the governed agents, counted in one grouped query by state and origin.
   * A state recorded for a config from elsewhere (before this group took the agent over) counts
   * as pending: this group's config has not reached the agent yet. The same query counts the
   * agents per own-telemetry condition (the summary stored on each agent), at no extra command.
   */
  private async deliveryStates(
    requirements: SelectorRequirement[],
    governed: FilterQuery<Agent>,
    origin: string,
  ): Promise<{ config: AgentGroupStatus['config']; ownTelemetry: AgentGroupStatus['ownTelemetry'] }> {
    const out = noConfigCounts();
    const tel = noOwnTelemetry();
    const conditions = tel.conditions;
    const add = (
      rows: { _id: { state?: string; origin?: string; drift?: string; tel?: unknown }; n: number; sums?: Record<string, number> }[],
      sign: 1 | -1,
    ) => {
      for (const r of rows) {
        tel.acceptedPerSecond += sign * (r.sums?.accepted ?? 0);
        tel.sentPerSecond += sign * (r.sums?.sent ?? 0);
        for (const c of Array.isArray(r._id.tel) ? r._id.tel : []) if (typeof c === 'string' && c in conditions) conditions[c as OwnCondition] += sign * r.n;
        const s = r._id.state as ConfigState;
        if (!CONFIG_STATES.includes(s)) continue;
        const ours = r._id.origin === origin;
        out[ours ? s : 'pending'] += sign * r.n;
        // Drift is judged against the config the agent was sent, so only this group's count.
        if (ours && r._id.drift === 'True') out.drifted += sign * r.n;
      }
    };
    const group = (match: FilterQuery<Agent>) =>
      this.agents.countGrouped<{ state?: string; origin?: string; drift?: string; tel?: unknown }>(
        match,
        {
          state: '$remoteConfig.state',
          origin: '$remoteConfig.origin',
          drift: '$configDrift.status',
          tel: '$ownTelemetry.conditions',
        },
        // The group's totals of the rates its agents stored (each within a factor of two of its current rate).
        { accepted: '$ownTelemetry.acceptedPerSecond', sent: '$ownTelemetry.sentPerSecond' },
      );
    // As AgentSelectorQuery.count: a selector of only negations is (all) − (holding an excluded term), two indexed reads.
    const excluded = excludedTermsOnly(requirements);
    if (!excluded) add(await group(both(selectorToTermsFilter(requirements) as FilterQuery<Agent>, governed)), 1);
    else {
      const [all, holding] = await Promise.all([group(governed), group(both({ [SELECTOR_TERMS_FIELD]: { $in: excluded } }, governed))]);
      add(all, 1);
      add(holding, -1);
    }
    tel.acceptedPerSecond = Math.max(0, Math.round(tel.acceptedPerSecond * 1000) / 1000);
    tel.sentPerSecond = Math.max(0, Math.round(tel.sentPerSecond * 1000) / 1000);
    return { config: out, ownTelemetry: tel };
  }

  /**
   * Who governs the agents this group matches but does not govern: the groups before it (in
   * precedence order, counted until all are accounted for) and the agents' own configs.
   */
  private async overriders(name: string, active: readonly RankedGroup[], total: number): Promise<OverriddenBy[]> {
    const me = active.find((g) => g.name === name)!;
    const out: OverriddenBy[] = [];
    const own = await this.agents.countSelected(me.requirements, OWN_CONFIG_FILTER as FilterQuery<Agent>);
    let left = total - own;
    for (const g of active) {
      if (g.name === name || left <= 0) break;
      const theirs = governedQuery(active, g.name)!;
      const n = await this.agents.countSelected(
        me.requirements,
        both(selectorToTermsFilter(g.requirements) as FilterQuery<Agent>, theirs.extra as FilterQuery<Agent>),
      );
      if (n > 0) out.push({ kind: 'group', group: g.name, agents: n });
      left -= n;
    }
    if (own > 0) out.push({ kind: 'agent', agents: own });
    return out;
  }
}

function emptyStatus(): AgentGroupStatus {
  return {
    agents: 0,
    connected: 0,
    healthy: 0,
    config: noConfigCounts(),
    ownTelemetry: noOwnTelemetry(),
    matchedNotGoverned: 0,
    overriddenBy: [],
  };
}

type OwnCondition = keyof AgentGroupStatus['ownTelemetry']['conditions'];

function noOwnTelemetry(): AgentGroupStatus['ownTelemetry'] {
  return { conditions: { Idle: 0, ExportFailing: 0, Stale: 0, Restarting: 0 }, acceptedPerSecond: 0, sentPerSecond: 0 };
}

function noConfigCounts(): AgentGroupStatus['config'] {
  return { applied: 0, applying: 0, failed: 0, pending: 0, drifted: 0 };
}
