import type { PackageOfferTracking, PackageRefusal, RemoteConfigTracking, StoredPackageStatus, StoredPackageStatuses } from '../agents/agent.schema';
import type { AgentPackageType, PackageFileOffer } from '../packages/package-catalogue';
import type { StoredAgentSummary } from '../agents/agents.service';
import { originText } from '../desired-state/config-precedence';
import { isProblem } from '../desired-state/desired-state.service';
import type { DesiredConfig, DesiredConfigProblem, DesiredConnectionSettings } from '../desired-state/desired-state.types';
import { AgentCapabilities as Cap, AgentToServer, ConnectionSettingsOffers } from '../gen/opamp/v1/opamp_pb';
import type { buildOffers } from './connection-settings-offers';
import { hasCapability } from '../protocol/capabilities';

/*
 * What the server sends an agent, decided from what the agent reported, what the server holds
 * of it and what it should have. Pure: no clock, no database, no session is touched, so every
 * rule of server-behaviour.md that decides a message's content has a row in
 * delivery-policy.spec.ts. The callers (message handler, pusher) fetch the facts and carry out
 * the decision.
 */

/** What the server holds of an agent's reported state, part by part. */
export type HeldParts = Pick<
  StoredAgentSummary,
  'hasDescription' | 'hasHealth' | 'hasEffectiveConfig' | 'hasRemoteConfigStatus' | 'hasPackageStatuses' | 'hasConnectionSettingsStatus'
>;

/** Each part of its state an agent's capability promises to report: where the server notes it, and the message field that carries it. */
const PROMISED_PARTS: readonly [Cap, keyof HeldParts, keyof AgentToServer][] = [
  [Cap.AgentCapabilities_ReportsStatus, 'hasDescription', 'agentDescription'],
  [Cap.AgentCapabilities_ReportsHealth, 'hasHealth', 'health'],
  [Cap.AgentCapabilities_ReportsEffectiveConfig, 'hasEffectiveConfig', 'effectiveConfig'],
  [Cap.AgentCapabilities_ReportsRemoteConfig, 'hasRemoteConfigStatus', 'remoteConfigStatus'],
  [Cap.AgentCapabilities_ReportsPackageStatuses, 'hasPackageStatuses', 'packageStatuses'],
  [Cap.AgentCapabilities_ReportsConnectionSettingsStatus, 'hasConnectionSettingsStatus', 'connectionSettingsStatus'],
];

/** True when the agent's capabilities promise a part the server does not hold. */
export function missingPromisedState(capabilities: bigint, held: HeldParts): boolean {
  return PROMISED_PARTS.some(([cap, part]) => hasCapability(capabilities, cap) && !held[part]);
}

/** True when the message brings every part of its state the agent's capabilities promise. */
export function carriesPromisedState(msg: AgentToServer, capabilities: bigint): boolean {
  return PROMISED_PARTS.every(([cap, , field]) => !hasCapability(capabilities, cap) || msg[field] !== undefined);
}

/** What decides whether an answer sets ReportFullState. */
export interface FullStateFacts {
  /** The message being answered. */
  message: AgentToServer;
  /** The agent's capabilities (the message's, or the last ones it reported when it sent 0). */
  capabilities: bigint;
  /** What the server holds after taking in this message. */
  held: HeldParts;
  /** The number of the previous message of this session; undefined when the session begins with this message. */
  previousSeq?: bigint;
  /**
   * Set when the session begins with this message and the database knew the agent: the sequence
   * number last taken from it (undefined inside when none was stored).
   */
  stored?: { sequenceNum?: bigint };
  /** The sequence number ReportFullState was last asked for. */
  askedAt?: bigint;
  /** The agent's previous message was lost to a database outage. */
  lostToOutage: boolean;
}

/**
 * ReportFullState, by the spec's rule: only when the number does not follow the previous one (or
 * no session held it) AND something the capabilities promise is missing; never twice for one
 * number; asking when nothing is missing makes clients loop. Two ways reports get lost count as
 * missing: a stored agent's new session whose number does not follow the stored one, unless the
 * message brings its whole state again (opamp-go does on its first connection) — reports sent to
 * a server that died before writing them; and a message lost to a database outage, which asks
 * once whatever else holds.
 */
export function requestsFullState(f: FullStateFacts): boolean {
  if (f.lostToOutage) return true;
  const seq = f.message.sequenceNum;
  const gap = f.previousSeq === undefined || seq !== f.previousSeq + 1n;
  if (!gap || f.askedAt === seq) return false;
  const lost = f.previousSeq === undefined && f.stored !== undefined && (f.stored.sequenceNum === undefined || seq !== f.stored.sequenceNum + 1n);
  return (lost && !carriesPromisedState(f.message, f.capabilities)) || missingPromisedState(f.capabilities, f.held);
}

/** What decides whether an answer sets ReportAvailableComponents. */
export interface ComponentsFacts {
  capabilities: bigint;
  /** The message's available_components: its hash (hex) and whether it carried the map. */
  reported?: { hash: string; carriesComponents: boolean };
  /** The hash ReportAvailableComponents was last asked for. */
  askedFor?: string;
}

/**
 * The components hash to ask the full map for, unless the server's catalog already knows it
 * (the caller looks that up only for the hash returned, to spare the database). The first
 * message carries only the hash; an agent without ReportsAvailableComponents is never asked,
 * and no hash is asked for twice in a session.
 */
export function componentsToRequest(f: ComponentsFacts): string | undefined {
  if (!f.reported || !hasCapability(f.capabilities, Cap.AgentCapabilities_ReportsAvailableComponents)) return undefined;
  if (f.reported.carriesComponents || f.askedFor === f.reported.hash) return undefined;
  return f.reported.hash;
}

/**
 * The kind of answer: an agent saying goodbye gets an acknowledgement and nothing delivered; a
 * command waiting for an HTTP agent travels alone (opamp-go ignores every other field of a
 * message that carries one), the rest waits for the next poll; otherwise deliver what is due.
 */
export type AnswerShape = 'acknowledge' | 'command' | 'deliver';

export function answerShape(f: { disconnecting: boolean; commandWaiting: boolean }): AnswerShape {
  if (f.disconnecting) return 'acknowledge';
  return f.commandWaiting ? 'command' : 'deliver';
}

/** A connection settings offer as built for one agent's capabilities. */
export type ConnectionSettingsOffer = NonNullable<ReturnType<typeof buildOffers>>;

/** What decides the remote config and connection settings an agent gets. */
export interface DeliveryFacts {
  capabilities: bigint;
  /** The agent's last reported remote config status. */
  reported?: StoredAgentSummary['remoteConfigStatus'];
  /** The delivery tracking the server holds (what was ever sent, and how it stands). */
  tracking?: RemoteConfigTracking | null;
  /** The hash of the connection settings offer last sent. */
  lastOfferHash?: string;
  /** When it was sent, and the rollout whose settings it was made from (if any). */
  lastOfferAt?: Date;
  lastOfferRollout?: string;
  /** The config hash sent during this session. */
  sentThisSession?: string;
  /** What the agent should have. */
  desired: {
    config?: DesiredConfig | DesiredConfigProblem;
    settings?: DesiredConnectionSettings;
    offer?: ConnectionSettingsOffer;
  };
  /** The time recorded as "sent at". */
  now: Date;
}

/** What to send, and what to record of it. */
export interface DeliveryDecision {
  remoteConfig?: DesiredConfig;
  connectionSettings?: ConnectionSettingsOffers;
  /** New delivery tracking, set only when it differs from what is held (null: no config is desired any more). */
  tracking?: RemoteConfigTracking | null;
  /** The offer sent (or the rollout it now comes from), to record so that it is sent again only when it changes. */
  offerSent?: { lastSentHash: string; lastSentAt: Date; origin: string; rollout?: string };
}

/**
 * Remote config goes only to agents with AcceptsRemoteConfig, and only when its hash differs
 * from what the agent reports (APPLYING or FAILED for the same hash is no reason to resend) and
 * from what this session already sent; an agent that cannot report (no ReportsRemoteConfig) is
 * gated by the hash ever sent to it. The connection settings offer goes only when its hash
 * differs from the last one sent (opamp-go and the supervisor act on every offer they get).
 */
export function decideDelivery(f: DeliveryFacts): DeliveryDecision {
  const decision: DeliveryDecision = {};
  const desired = f.desired.config;
  let tracking: RemoteConfigTracking | null = null;
  if (desired && isProblem(desired)) {
    tracking = { state: 'pending', origin: originText(desired.origin), error: desired.error };
  } else if (desired) {
    // Object literals, not spreads: this runs for every message of every agent, and a spread of
    // objects of varying shape is some twenty times slower in V8.
    const desiredHash = desired.hashHex;
    const origin = originText(desired.origin);
    const previouslySent = f.tracking?.lastSentHash;
    if (!hasCapability(f.capabilities, Cap.AgentCapabilities_AcceptsRemoteConfig)) {
      tracking = { state: 'unsupported', desiredHash, origin };
    } else {
      const reports = hasCapability(f.capabilities, Cap.AgentCapabilities_ReportsRemoteConfig);
      const { failedHashes, lastKnownGood } = outcomes(f.tracking, f.reported, desiredHash);
      const failedBefore = failedHashes?.includes(desiredHash) === true;
      const needed = failedBefore
        ? false
        : reports
          ? f.reported?.lastRemoteConfigHash !== desiredHash && f.sentThisSession !== desiredHash
          : previouslySent !== desiredHash;
      let lastSentHash = previouslySent;
      let lastSentAt = f.tracking?.lastSentAt;
      if (needed) {
        decision.remoteConfig = desired;
        lastSentHash = desiredHash;
        lastSentAt = f.now;
      }
      const d =
        failedBefore && f.reported?.lastRemoteConfigHash !== desiredHash
          ? // It failed on this config and runs another (a supervisor rolled back): still failed, with the reason it gave.
            { state: 'failed' as const, error: f.tracking?.error ?? 'the agent reported FAILED for this config' }
          : deliveryState(desiredHash, reports, f.reported, lastSentHash);
      tracking = { state: d.state, desiredHash, origin, lastSentHash, lastSentAt, unconfirmed: d.unconfirmed, error: d.error, failedHashes, lastKnownGood };
    }
  }
  if (!sameFields(tracking, f.tracking ?? null)) decision.tracking = tracking;

  const { settings, offer } = f.desired;
  const rollout = settings?.origin.kind === 'group' ? settings.origin.rollout : undefined;
  if (settings && offer && offer.hashHex !== f.lastOfferHash) {
    decision.connectionSettings = offer.offers;
    decision.offerSent = {
      lastSentHash: offer.hashHex,
      lastSentAt: f.now,
      origin: settings.origin.kind === 'group' ? `group/${settings.origin.group}` : 'default',
      ...(rollout ? { rollout } : {}),
    };
  } else if (settings && offer && rollout !== f.lastOfferRollout) {
    // The same offer, now made from (or no longer from) a rollout's settings: nothing to send, but
    // the rollout judges the agent by the offer it holds, so the record says where it comes from.
    decision.offerSent = {
      lastSentHash: offer.hashHex,
      lastSentAt: f.lastOfferAt ?? f.now,
      origin: settings.origin.kind === 'group' ? `group/${settings.origin.group}` : 'default',
      ...(rollout ? { rollout } : {}),
    };
  }
  return decision;
}

/** How many failed hashes an agent's tracking keeps. */
export const MAX_FAILED_HASHES = 8;

/** The agent's failed hashes and last applied one, updated by what it reports now. */
function outcomes(
  tracking: RemoteConfigTracking | null | undefined,
  reported: StoredAgentSummary['remoteConfigStatus'],
  desiredHash: string,
): Pick<RemoteConfigTracking, 'failedHashes' | 'lastKnownGood'> {
  let failedHashes = tracking?.failedHashes;
  let lastKnownGood = tracking?.lastKnownGood;
  const hash = reported?.lastRemoteConfigHash;
  if (hash && reported.status === 'APPLIED') lastKnownGood = hash;
  if (hash === desiredHash && reported?.status === 'FAILED' && !failedHashes?.includes(hash)) {
    failedHashes = [...(failedHashes ?? []), hash].slice(-MAX_FAILED_HASHES);
  }
  return { failedHashes, lastKnownGood };
}

/** The delivery state shown to operators and counted per group. */
function deliveryState(
  desiredHash: string,
  reports: boolean,
  reported: StoredAgentSummary['remoteConfigStatus'],
  lastSentHash: string | undefined,
): Pick<RemoteConfigTracking, 'state' | 'unconfirmed' | 'error'> {
  if (!reports) return lastSentHash === desiredHash ? { state: 'applied', unconfirmed: true } : { state: 'pending' };
  if (reported?.lastRemoteConfigHash !== desiredHash) return { state: 'pending' };
  switch (reported.status) {
    case 'APPLIED':
      return { state: 'applied' };
    case 'APPLYING':
      return { state: 'applying' };
    case 'FAILED':
      return { state: 'failed', error: reported.errorMessage };
    default:
      return { state: 'pending' };
  }
}

/** Same own fields (undefined counts as absent; dates by time): tracking is written only when it changes. */
function sameFields(a: object | null, b: object | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const kx = keys(x);
  if (kx.length !== keys(y).length) return false;
  return kx.every((k) => {
    const [p, q] = [x[k], y[k]];
    if (p instanceof Date && q instanceof Date) return p.getTime() === q.getTime();
    if (Array.isArray(p) && Array.isArray(q)) return p.length === q.length && p.every((v, i) => v === q[i]);
    return p === q;
  });
}

/** One package of an offer, as the session built it from the plan and the catalogue. */
export interface OfferedPackage {
  name: string;
  version: string;
  type: AgentPackageType;
  /** PackageAvailable.hash (see src/protocol/package-hash.ts), and as hex. */
  hash: Uint8Array;
  hashHex: string;
  /** The file to download; absent for a package the agent keeps and the catalogue has no file of. */
  file?: PackageFileOffer;
  /** Set when the desired version is not what is offered (keep), or when it is a forced downgrade. */
  downgradeFrom?: string;
}

/** The complete packages offer due to one agent (opamp-go removes packages an offer leaves out). */
export interface PackagesOffer {
  packages: OfferedPackage[];
  /** all_packages_hash, and as hex. */
  hash: Uint8Array;
  hashHex: string;
  /** Where the named packages come from (`group/NAME`, `agent`, joined by "+"). */
  origin: string;
  /** Named packages not offered as named, and why. */
  refused: PackageRefusal[];
}

/** What decides whether an agent gets a packages offer. */
export interface PackageDeliveryFacts {
  capabilities: bigint;
  /** The offer due (undefined: the agent is named no package). */
  offer?: PackagesOffer;
  /** The package statuses it last reported. */
  reported?: StoredPackageStatuses;
  /** The packages delivery tracking the server holds. */
  tracking?: PackageOfferTracking | null;
  /** The all_packages_hash sent during this session. */
  sentThisSession?: string;
  now: Date;
}

export interface PackageDeliveryDecision {
  /** The offer to send now. */
  send?: PackagesOffer;
  /** New tracking, set only when it differs from what is held (null: no package is named any more). */
  tracking?: PackageOfferTracking | null;
}

/**
 * What an agent reports of its packages, read against the offer due to it: an agent that has
 * (`agent_has_hash`) exactly the offer's packages runs that offer, so it is on it and each of its
 * packages is INSTALLED, whatever the last report says. opamp-go (v0.23.0) needs this after a
 * failed upgrade is rolled back: offered again what it kept, it finds its packages up to date and
 * reports nothing, so its last report still names the failed offer and its INSTALL_FAILED (and,
 * offered a package it has under another offer, it keeps the old status). Read as said, that
 * agent would count as failed, or installing, for good. Settled, such an agent is sent nothing:
 * it runs what it is due. Undefined: nothing to settle.
 */
export function settledPackageStatuses(reported: StoredPackageStatuses | undefined, offer: PackagesOffer | undefined): StoredPackageStatuses | undefined {
  if (!reported || !offer || offer.packages.length === 0) return undefined;
  // While it downloads or installs, what it will run is not known yet.
  if (reported.packages.some((s) => s.status === 'DOWNLOADING' || s.status === 'INSTALLING' || s.status === 'INSTALL_PENDING')) return undefined;
  const had = reported.packages.filter((s) => s.agentHasHash);
  const offered = new Map(offer.packages.map((p) => [p.name, p]));
  const runsOffer = had.length === offered.size && had.every((s) => offered.get(s.name)?.hashHex === s.agentHasHash);
  if (!runsOffer) return undefined;
  const stale = (s: StoredPackageStatus) => s.status === 'INSTALL_FAILED' || (s.status === 'INSTALLED' && s.serverOfferedHash !== s.agentHasHash);
  if (reported.serverProvidedAllPackagesHash === offer.hashHex && !had.some(stale)) return undefined;
  return {
    ...reported,
    serverProvidedAllPackagesHash: offer.hashHex,
    packages: reported.packages.map((s) =>
      s.agentHasHash && stale(s)
        ? { ...s, status: 'INSTALLED', errorMessage: '', serverOfferedVersion: s.agentHasVersion, serverOfferedHash: s.agentHasHash }
        : s,
    ),
  };
}

/**
 * Packages go only to agents with AcceptsPackages, and only when the offer's all_packages_hash
 * differs from the one the agent reports (`server_provided_all_packages_hash`) and from what this
 * session already sent; an agent that does not report package statuses is gated by the hash
 * ever sent to it. An offer the agent reported INSTALL_FAILED for (a package of it failed with
 * the hash offered) is remembered and never sent to it again; a changed offer (another hash) is.
 * An offer with no package is never sent (it would make the agent remove what it runs).
 */
export function decidePackages(f: PackageDeliveryFacts): PackageDeliveryDecision {
  const decision: PackageDeliveryDecision = {};
  const offer = f.offer;
  let tracking: PackageOfferTracking | null = null;
  if (offer && !hasCapability(f.capabilities, Cap.AgentCapabilities_AcceptsPackages)) {
    tracking = { state: 'unsupported', desiredHash: offer.hashHex, origin: offer.origin, refused: refusedOrNone(offer) };
  } else if (offer) {
    const desiredHash = offer.hashHex;
    const reports = hasCapability(f.capabilities, Cap.AgentCapabilities_ReportsPackageStatuses);
    const reported = f.reported;
    const onThisOffer = reported?.serverProvidedAllPackagesHash === desiredHash;
    const offered = new Map(offer.packages.map((p) => [p.name, p]));
    const failures = onThisOffer ? reported.packages.filter((p) => p.status === 'INSTALL_FAILED' && offered.get(p.name)?.hashHex === p.serverOfferedHash) : [];
    let failedHashes = f.tracking?.failedHashes;
    let error = failedHashes?.includes(desiredHash) ? f.tracking?.error : undefined;
    if (failures.length) {
      error = failures.map((p) => `${p.name}: ${p.errorMessage || 'INSTALL_FAILED'}`).join('; ');
      if (!failedHashes?.includes(desiredHash)) failedHashes = [...(failedHashes ?? []), desiredHash].slice(-MAX_FAILED_HASHES);
    }
    const failed = failedHashes?.includes(desiredHash) === true;
    const needed =
      !failed && offer.packages.length > 0 && (reports ? !onThisOffer && f.sentThisSession !== desiredHash : f.tracking?.lastSentHash !== desiredHash);
    let lastSentHash = f.tracking?.lastSentHash;
    let lastSentAt = f.tracking?.lastSentAt;
    if (needed) {
      decision.send = offer;
      lastSentHash = desiredHash;
      lastSentAt = f.now;
    }
    let state: PackageOfferTracking['state'];
    if (failed) state = 'failed';
    else if (reports && onThisOffer) {
      const done = offer.packages.every((p) => reported.packages.some((s) => s.name === p.name && s.status === 'INSTALLED' && s.agentHasVersion === p.version));
      state = done ? 'installed' : 'installing';
    } else if (lastSentHash === desiredHash) state = 'offered';
    else state = 'pending';
    tracking = { state, desiredHash, origin: offer.origin, lastSentHash, lastSentAt, failedHashes, error, refused: refusedOrNone(offer) };
  }
  if (!samePackageTracking(tracking, f.tracking ?? null)) decision.tracking = tracking;
  return decision;
}

const refusedOrNone = (o: PackagesOffer) => (o.refused.length ? o.refused : undefined);

function samePackageTracking(a: PackageOfferTracking | null, b: PackageOfferTracking | null): boolean {
  if (!a || !b) return a === b;
  const { refused: ra, ...x } = a;
  const { refused: rb, ...y } = b;
  return sameFields(x, y) && JSON.stringify(ra ?? null) === JSON.stringify(rb ?? null);
}
