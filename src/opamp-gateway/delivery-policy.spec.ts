import { create } from '@bufbuild/protobuf';
import type { RemoteConfigTracking } from '../agents/agent.schema';
import type { DesiredConfig, DesiredConnectionSettings } from '../desired-state/desired-state.types';
import {
  AgentCapabilities as Cap,
  AgentDescriptionSchema,
  AgentToServerSchema,
  ConnectionSettingsOffersSchema,
  EffectiveConfigSchema,
} from '../gen/opamp/v1/opamp_pb';
import {
  answerShape,
  AnswerShape,
  ComponentsFacts,
  componentsToRequest,
  ConnectionSettingsOffer,
  decideDelivery,
  DeliveryDecision,
  DeliveryFacts,
  FullStateFacts,
  HeldParts,
  requestsFullState,
} from './delivery-policy';

// Every row is a rule of shared/opamp/server-behaviour.md that a real client depends on.

const caps = (...c: Cap[]) => c.reduce((v, x) => v | BigInt(x), 0n);
const ACCEPTS = Cap.AgentCapabilities_AcceptsRemoteConfig;
const REPORTS = Cap.AgentCapabilities_ReportsRemoteConfig;

const NEW = 'aa'.repeat(32);
const OLD = 'bb'.repeat(32);
const NOW = new Date('2026-12-02T12:00:00Z');
const EARLIER = new Date('2026-12-01T08:00:00Z');

const desiredConfig: DesiredConfig = {
  entries: [{ fileName: 'collector.yaml', contentType: 'application/yaml', body: Buffer.from('receivers: {}\n'), source: { kind: 'agent-inline' } }],
  hash: Buffer.from(NEW, 'hex'),
  hashHex: NEW,
  origin: { kind: 'group', group: 'edge' },
};
const reported = (hash: string, status: string, errorMessage = '') => ({ lastRemoteConfigHash: hash, status, errorMessage });

const groupSettings: DesiredConnectionSettings = { settings: { heartbeatIntervalSeconds: 30 }, origin: { kind: 'group', group: 'edge' } };
const defaultSettings: DesiredConnectionSettings = { settings: { heartbeatIntervalSeconds: 30 }, origin: { kind: 'default' } };
const OFFER_HASH = 'cc'.repeat(32);
const offer: ConnectionSettingsOffer = { offers: create(ConnectionSettingsOffersSchema, { hash: Buffer.from(OFFER_HASH, 'hex') }), hashHex: OFFER_HASH };

const facts = (f: Partial<DeliveryFacts>): DeliveryFacts => ({ capabilities: 0n, desired: {}, now: NOW, ...f });

/** What a decision comes to, in words a row can state. */
interface Outcome {
  sendsConfig: boolean;
  /** 'unchanged': nothing to record; null: cleared. */
  tracking: RemoteConfigTracking | null | 'unchanged';
  sendsOffer?: boolean;
  offerOrigin?: string;
}
const outcome = (d: DeliveryDecision): Outcome => ({
  sendsConfig: d.remoteConfig !== undefined,
  tracking: d.tracking === undefined ? 'unchanged' : d.tracking,
  sendsOffer: d.connectionSettings !== undefined,
  offerOrigin: d.offerSent?.origin,
});

describe('delivery policy: remote config', () => {
  const rows: [string, Partial<DeliveryFacts>, Outcome][] = [
    ['nothing desired, nothing held: nothing sent, nothing recorded', { capabilities: caps(ACCEPTS, REPORTS) }, { sendsConfig: false, tracking: 'unchanged' }],
    [
      'nothing desired any more: the tracking held is cleared',
      { capabilities: caps(ACCEPTS, REPORTS), tracking: { state: 'applied', desiredHash: OLD, origin: 'group/edge' } },
      { sendsConfig: false, tracking: null },
    ],
    [
      'the assignment points at something missing: nothing sent, pending with the reason',
      { capabilities: caps(ACCEPTS, REPORTS), desired: { config: { origin: { kind: 'agent' }, error: 'remote config "gone" does not exist' } } },
      { sendsConfig: false, tracking: { state: 'pending', origin: 'agent', error: 'remote config "gone" does not exist' } },
    ],
    [
      'capability AcceptsRemoteConfig missing: not offered, shown as unsupported',
      { capabilities: caps(REPORTS), desired: { config: desiredConfig } },
      { sendsConfig: false, tracking: { state: 'unsupported', desiredHash: NEW, origin: 'group/edge' } },
    ],
    [
      'no capabilities at all: not offered',
      { capabilities: 0n, desired: { config: desiredConfig } },
      { sendsConfig: false, tracking: { state: 'unsupported', desiredHash: NEW, origin: 'group/edge' } },
    ],
    [
      'new agent that reports nothing yet: sent',
      { capabilities: caps(ACCEPTS, REPORTS), desired: { config: desiredConfig } },
      { sendsConfig: true, tracking: { state: 'pending', desiredHash: NEW, origin: 'group/edge', lastSentHash: NEW, lastSentAt: NOW } },
    ],
    [
      'new desired hash, the agent reports the old one applied: sent',
      {
        capabilities: caps(ACCEPTS, REPORTS),
        reported: reported(OLD, 'APPLIED'),
        tracking: { state: 'applied', desiredHash: OLD, origin: 'group/edge', lastSentHash: OLD, lastSentAt: EARLIER },
        desired: { config: desiredConfig },
      },
      { sendsConfig: true, tracking: { state: 'pending', desiredHash: NEW, origin: 'group/edge', lastSentHash: NEW, lastSentAt: NOW, lastKnownGood: OLD } },
    ],
    [
      'hash equal, APPLIED: not resent, applied (and it is the last known good)',
      { capabilities: caps(ACCEPTS, REPORTS), reported: reported(NEW, 'APPLIED'), desired: { config: desiredConfig } },
      { sendsConfig: false, tracking: { state: 'applied', desiredHash: NEW, origin: 'group/edge', lastKnownGood: NEW } },
    ],
    [
      'hash equal, APPLYING: not resent, applying',
      { capabilities: caps(ACCEPTS, REPORTS), reported: reported(NEW, 'APPLYING'), desired: { config: desiredConfig } },
      { sendsConfig: false, tracking: { state: 'applying', desiredHash: NEW, origin: 'group/edge' } },
    ],
    [
      'FAILED for the desired hash: not resent, failed with the agent’s message, the hash remembered as failed',
      { capabilities: caps(ACCEPTS, REPORTS), reported: reported(NEW, 'FAILED', 'bad yaml'), desired: { config: desiredConfig } },
      { sendsConfig: false, tracking: { state: 'failed', desiredHash: NEW, origin: 'group/edge', error: 'bad yaml', failedHashes: [NEW] } },
    ],
    [
      'hash equal, status UNSET: not resent, pending',
      { capabilities: caps(ACCEPTS, REPORTS), reported: reported(NEW, 'UNSET'), desired: { config: desiredConfig } },
      { sendsConfig: false, tracking: { state: 'pending', desiredHash: NEW, origin: 'group/edge' } },
    ],
    [
      'supervisor rollback (FAILED for the new hash, then APPLIED for the old) in the session that sent it: not resent, still failed, the old one last known good',
      {
        capabilities: caps(ACCEPTS, REPORTS),
        reported: reported(OLD, 'APPLIED'),
        sentThisSession: NEW,
        tracking: { state: 'failed', desiredHash: NEW, origin: 'group/edge', lastSentHash: NEW, lastSentAt: EARLIER, error: 'crashed', failedHashes: [NEW] },
        desired: { config: desiredConfig },
      },
      {
        sendsConfig: false,
        tracking: {
          state: 'failed',
          desiredHash: NEW,
          origin: 'group/edge',
          lastSentHash: NEW,
          lastSentAt: EARLIER,
          error: 'crashed',
          failedHashes: [NEW],
          lastKnownGood: OLD,
        },
      },
    ],
    [
      'a hash it failed on, after a reconnect or a server restart (nothing sent this session): still never resent',
      {
        capabilities: caps(ACCEPTS, REPORTS),
        reported: reported(OLD, 'APPLIED'),
        tracking: {
          state: 'failed',
          desiredHash: NEW,
          origin: 'group/edge',
          lastSentHash: NEW,
          lastSentAt: EARLIER,
          error: 'crashed',
          failedHashes: [NEW],
          lastKnownGood: OLD,
        },
        desired: { config: desiredConfig },
      },
      { sendsConfig: false, tracking: 'unchanged' },
    ],
    [
      'a new revision after a failure (another hash): sent, the failed one still remembered',
      {
        capabilities: caps(ACCEPTS, REPORTS),
        reported: reported(OLD, 'APPLIED'),
        tracking: {
          state: 'failed',
          desiredHash: OLD + '0',
          origin: 'group/edge',
          lastSentHash: OLD + '0',
          lastSentAt: EARLIER,
          error: 'crashed',
          failedHashes: [OLD + '0'],
          lastKnownGood: OLD,
        },
        desired: { config: desiredConfig },
      },
      {
        sendsConfig: true,
        tracking: {
          state: 'pending',
          desiredHash: NEW,
          origin: 'group/edge',
          lastSentHash: NEW,
          lastSentAt: NOW,
          failedHashes: [OLD + '0'],
          lastKnownGood: OLD,
        },
      },
    ],
    [
      'agent without ReportsRemoteConfig, never sent: sent, applied but unconfirmed',
      { capabilities: caps(ACCEPTS), desired: { config: desiredConfig } },
      { sendsConfig: true, tracking: { state: 'applied', unconfirmed: true, desiredHash: NEW, origin: 'group/edge', lastSentHash: NEW, lastSentAt: NOW } },
    ],
    [
      'agent without ReportsRemoteConfig, this hash sent before (another session): not resent',
      {
        capabilities: caps(ACCEPTS),
        tracking: { state: 'applied', unconfirmed: true, desiredHash: NEW, origin: 'group/edge', lastSentHash: NEW, lastSentAt: EARLIER },
        desired: { config: desiredConfig },
      },
      { sendsConfig: false, tracking: 'unchanged' },
    ],
    [
      'agent without ReportsRemoteConfig, an older hash sent before: the new one is sent',
      {
        capabilities: caps(ACCEPTS),
        tracking: { state: 'applied', unconfirmed: true, desiredHash: OLD, origin: 'group/edge', lastSentHash: OLD, lastSentAt: EARLIER },
        desired: { config: desiredConfig },
      },
      { sendsConfig: true, tracking: { state: 'applied', unconfirmed: true, desiredHash: NEW, origin: 'group/edge', lastSentHash: NEW, lastSentAt: NOW } },
    ],
    [
      'tracking already as it would be written: nothing to record (no database write)',
      {
        capabilities: caps(ACCEPTS, REPORTS),
        reported: reported(NEW, 'APPLIED'),
        tracking: { state: 'applied', desiredHash: NEW, origin: 'group/edge', lastSentHash: NEW, lastSentAt: new Date(EARLIER.getTime()), lastKnownGood: NEW },
        desired: { config: desiredConfig },
      },
      { sendsConfig: false, tracking: 'unchanged' },
    ],
  ];
  it.each(rows)('%s', (_name, f, expected) => {
    const got = outcome(decideDelivery(facts(f)));
    expect({ sendsConfig: got.sendsConfig, tracking: got.tracking }).toEqual(expected);
  });

  it('sends the desired config itself (the complete map and its hash go into the one builder)', () => {
    expect(decideDelivery(facts({ capabilities: caps(ACCEPTS, REPORTS), desired: { config: desiredConfig } })).remoteConfig).toBe(desiredConfig);
  });
});

describe('delivery policy: connection settings', () => {
  const rows: [string, Partial<DeliveryFacts>, { sendsOffer: boolean; offerOrigin?: string }][] = [
    ['no settings desired: no offer', {}, { sendsOffer: false }],
    ['settings, but the agent accepts no part of them (no offer built): no offer', { desired: { settings: groupSettings } }, { sendsOffer: false }],
    [
      'offer hash equal to the one last sent: not resent (opamp-go and the supervisor act on every offer)',
      { desired: { settings: groupSettings, offer }, lastOfferHash: OFFER_HASH },
      { sendsOffer: false },
    ],
    [
      'new offer from a group: sent, recorded with its origin',
      { desired: { settings: groupSettings, offer }, lastOfferHash: 'dd'.repeat(32) },
      { sendsOffer: true, offerOrigin: 'group/edge' },
    ],
    [
      'first offer of the server default: sent, recorded as default',
      { desired: { settings: defaultSettings, offer } },
      { sendsOffer: true, offerOrigin: 'default' },
    ],
  ];
  it.each(rows)('%s', (_name, f, expected) => {
    const got = outcome(decideDelivery(facts(f)));
    expect({ sendsOffer: got.sendsOffer, offerOrigin: got.offerOrigin }).toEqual(expected);
  });

  it('records the offer it sends with its hash and time', () => {
    const d = decideDelivery(facts({ desired: { settings: groupSettings, offer } }));
    expect(d.connectionSettings).toBe(offer.offers);
    expect(d.offerSent).toEqual({ lastSentHash: OFFER_HASH, lastSentAt: NOW, origin: 'group/edge' });
  });

  // A rollout of connection settings judges an agent by the offer recorded for it and the rollout it was made from.
  const fromRollout: DesiredConnectionSettings = { settings: groupSettings.settings, origin: { kind: 'group', group: 'edge', rollout: 'cs' } };
  const SENT_AT = new Date('2026-12-01T00:00:00Z');
  const rolloutRows: [string, Partial<DeliveryFacts>, { sends: boolean; recorded?: DeliveryDecision['offerSent'] }][] = [
    [
      "a rollout's new offer: sent, recorded with the rollout",
      { desired: { settings: fromRollout, offer }, lastOfferHash: 'dd'.repeat(32) },
      { sends: true, recorded: { lastSentHash: OFFER_HASH, lastSentAt: NOW, origin: 'group/edge', rollout: 'cs' } },
    ],
    [
      "a rollout's settings give the offer the agent has: nothing sent, the record names the rollout (sent time kept)",
      { desired: { settings: fromRollout, offer }, lastOfferHash: OFFER_HASH, lastOfferAt: SENT_AT },
      { sends: false, recorded: { lastSentHash: OFFER_HASH, lastSentAt: SENT_AT, origin: 'group/edge', rollout: 'cs' } },
    ],
    [
      'the same offer from the same rollout again: nothing sent, nothing recorded',
      { desired: { settings: fromRollout, offer }, lastOfferHash: OFFER_HASH, lastOfferRollout: 'cs' },
      { sends: false },
    ],
    [
      "the rollout's overlay ended on the same offer (rolled back, succeeded): nothing sent, the record drops the rollout",
      { desired: { settings: groupSettings, offer }, lastOfferHash: OFFER_HASH, lastOfferAt: SENT_AT, lastOfferRollout: 'cs' },
      { sends: false, recorded: { lastSentHash: OFFER_HASH, lastSentAt: SENT_AT, origin: 'group/edge' } },
    ],
    [
      "rolled back to other settings: the group's offer is sent again, without the rollout",
      { desired: { settings: groupSettings, offer }, lastOfferHash: 'dd'.repeat(32), lastOfferRollout: 'cs' },
      { sends: true, recorded: { lastSentHash: OFFER_HASH, lastSentAt: NOW, origin: 'group/edge' } },
    ],
  ];
  it.each(rolloutRows)('%s', (_name, f, expected) => {
    const d = decideDelivery(facts(f));
    expect({ sends: d.connectionSettings !== undefined, recorded: d.offerSent }).toEqual(expected);
  });
});

describe('delivery policy: ReportFullState', () => {
  const PROMISES = caps(Cap.AgentCapabilities_ReportsStatus, Cap.AgentCapabilities_ReportsEffectiveConfig);
  const ALL: HeldParts = {
    hasDescription: true,
    hasHealth: false,
    hasEffectiveConfig: true,
    hasRemoteConfigStatus: false,
    hasPackageStatuses: false,
    hasConnectionSettingsStatus: false,
  };
  const NO_DESCRIPTION: HeldParts = { ...ALL, hasDescription: false };
  const heartbeat = (seq: bigint) => create(AgentToServerSchema, { sequenceNum: seq });
  const full = (seq: bigint) =>
    create(AgentToServerSchema, {
      sequenceNum: seq,
      agentDescription: create(AgentDescriptionSchema, {}),
      effectiveConfig: create(EffectiveConfigSchema, {}),
    });
  const f = (x: Partial<FullStateFacts>): FullStateFacts => ({ message: heartbeat(6n), capabilities: PROMISES, held: ALL, lostToOutage: false, ...x });

  const rows: [string, Partial<FullStateFacts>, boolean][] = [
    ['number follows the previous one, a promised part missing: not asked (clients omit unchanged fields)', { previousSeq: 5n, held: NO_DESCRIPTION }, false],
    ['number jumps, a promised part missing: asked', { message: heartbeat(9n), previousSeq: 5n, held: NO_DESCRIPTION }, true],
    ['number jumps, nothing missing: not asked (asking would make clients loop)', { message: heartbeat(9n), previousSeq: 5n }, false],
    [
      'number jumps, part missing, already asked for this number: not asked twice',
      { message: heartbeat(9n), previousSeq: 5n, held: NO_DESCRIPTION, askedAt: 9n },
      false,
    ],
    ['restarted agent starts low again, part missing: asked', { message: heartbeat(0n), previousSeq: 57n, held: NO_DESCRIPTION }, true],
    [
      'the missing part is one the capabilities do not promise: not asked',
      { message: heartbeat(9n), previousSeq: 5n, held: { ...ALL, hasHealth: false } },
      false,
    ],
    ['new agent whose first message lacks a promised part: asked', { message: heartbeat(0n), held: NO_DESCRIPTION }, true],
    ['new agent whose first message brings everything: not asked', { message: full(0n) }, false],
    ['stored agent, new session, number follows the stored one: not asked', { message: heartbeat(6n), stored: { sequenceNum: 5n } }, false],
    [
      'stored agent, new session, number does not follow, message lacks its state: asked (reports were lost)',
      { message: heartbeat(12n), stored: { sequenceNum: 5n } },
      true,
    ],
    [
      'stored agent, new session, number does not follow, message brings its whole state: not asked',
      { message: full(12n), stored: { sequenceNum: 5n } },
      false,
    ],
    ['stored agent without a stored number, message lacks its state: asked', { message: heartbeat(3n), stored: {} }, true],
    ['previous message lost to a database outage: asked, although nothing seems missing', { previousSeq: 5n, lostToOutage: true }, true],
    ['lost to an outage: asked even for a number already asked for', { previousSeq: 5n, askedAt: 6n, lostToOutage: true }, true],
  ];
  it.each(rows)('%s', (_name, x, expected) => {
    expect(requestsFullState(f(x))).toBe(expected);
  });
});

describe('delivery policy: ReportAvailableComponents', () => {
  const REPORTS_COMPONENTS = caps(Cap.AgentCapabilities_ReportsAvailableComponents);
  const rows: [string, ComponentsFacts, string | undefined][] = [
    ['capability ReportsAvailableComponents missing: never asked', { capabilities: 0n, reported: { hash: 'h1', carriesComponents: false } }, undefined],
    ['message without available_components: not asked', { capabilities: REPORTS_COMPONENTS }, undefined],
    ['message carries the map itself: not asked', { capabilities: REPORTS_COMPONENTS, reported: { hash: 'h1', carriesComponents: true } }, undefined],
    [
      'hash only, not asked yet: asked (unless the catalog knows it)',
      { capabilities: REPORTS_COMPONENTS, reported: { hash: 'h1', carriesComponents: false } },
      'h1',
    ],
    [
      'hash only, already asked for it: not asked twice',
      { capabilities: REPORTS_COMPONENTS, reported: { hash: 'h1', carriesComponents: false }, askedFor: 'h1' },
      undefined,
    ],
    [
      'a new hash after one asked for before: asked',
      { capabilities: REPORTS_COMPONENTS, reported: { hash: 'h2', carriesComponents: false }, askedFor: 'h1' },
      'h2',
    ],
  ];
  it.each(rows)('%s', (_name, x, expected) => {
    expect(componentsToRequest(x)).toBe(expected);
  });
});

describe('delivery policy: the kind of answer', () => {
  const rows: [string, { disconnecting: boolean; commandWaiting: boolean }, AnswerShape][] = [
    ['agent_disconnect: acknowledged, nothing delivered', { disconnecting: true, commandWaiting: false }, 'acknowledge'],
    ['agent_disconnect with a command waiting: acknowledged, the command is not spent', { disconnecting: true, commandWaiting: true }, 'acknowledge'],
    ['a command waits (HTTP): it travels alone', { disconnecting: false, commandWaiting: true }, 'command'],
    ['otherwise: deliver what is due', { disconnecting: false, commandWaiting: false }, 'deliver'],
  ];
  it.each(rows)('%s', (_name, x, expected) => {
    expect(answerShape(x)).toBe(expected);
  });
});
