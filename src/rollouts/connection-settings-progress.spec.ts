import type { StoredConnectionSettings } from '../agent-groups/agent-group.schema';
import { observeConnectionSettings, SettingsFacts, SettingsObservation, settingsCounts, takesConnectionSettings } from './connection-settings-progress';

const OPAMP = 0x100;
const HEARTBEAT = 0x2000;
const OWN_METRICS = 0x40;
const OWN_TRACES = 0x20;
const OWN_LOGS = 0x80;
const STATUS = 0x8000;
const H = 'ab'.repeat(32);

describe('which agents a rollout of connection settings picks (by capability)', () => {
  const metrics: StoredConnectionSettings = { ownMetrics: { endpoint: 'http://c:4318/v1/metrics' } };
  const opamp: StoredConnectionSettings = { opamp: { endpoint: 'wss://o/v1/opamp' } };
  const heartbeat: StoredConnectionSettings = { heartbeatIntervalSeconds: 10 };
  const rows: [string, number, (StoredConnectionSettings | undefined)[], boolean][] = [
    ['own metrics to an agent reporting them', OWN_METRICS, [metrics], true],
    ['own metrics to an agent that reports none', OWN_TRACES | OWN_LOGS, [metrics], false],
    ['an OpAMP endpoint to an agent accepting OpAMP settings', OPAMP, [opamp], true],
    ['an OpAMP endpoint to an agent that does not accept them', HEARTBEAT | OWN_METRICS, [opamp], false],
    ['a heartbeat alone to an agent reporting heartbeats', HEARTBEAT, [heartbeat], true],
    // The server offers OpAMP settings only with an endpoint to an agent that accepts them (the spec requires one).
    ['a heartbeat alone to an agent accepting OpAMP settings', OPAMP | HEARTBEAT, [heartbeat], false],
    ['a heartbeat with an endpoint to an agent accepting OpAMP settings', OPAMP, [{ ...heartbeat, ...opamp }], true],
    ['own traces and logs', OWN_LOGS, [{ ownTraces: { endpoint: 'http://t' }, ownLogs: { endpoint: 'http://l' } }], true],
    ["a part of the group's settings from before (the rollout takes it away)", OWN_METRICS, [opamp, metrics], true],
    ['nothing named', OWN_METRICS | OPAMP, [{}, undefined], false],
  ];
  it.each(rows)('%s', (_name, caps, settings, expected) => {
    expect(takesConnectionSettings(caps, ...settings)).toBe(expected);
  });
});

describe("how a rollout's connection settings stand on an agent", () => {
  const offer = (rollout?: string): SettingsFacts['offer'] => ({ lastSentHash: H, ...(rollout ? { rollout } : {}) });
  const status = (s: string, hash = H, errorMessage = ''): SettingsFacts['status'] => ({ lastConnectionSettingsHash: hash, status: s, errorMessage });
  const rows: [string, SettingsFacts, SettingsObservation][] = [
    ['no offer recorded yet', { capabilities: STATUS }, { state: 'pending' }],
    [
      "the offer held is the group's (not offered the rollout's yet)",
      { capabilities: STATUS, offer: offer(), status: status('APPLIED') },
      { state: 'pending' },
    ],
    ["another rollout's offer", { capabilities: STATUS, offer: offer('other'), status: status('APPLIED') }, { state: 'pending' }],
    ['offered, no status yet', { capabilities: STATUS, offer: offer('cs') }, { state: 'applying' }],
    ['offered, APPLYING', { capabilities: STATUS, offer: offer('cs'), status: status('APPLYING') }, { state: 'applying' }],
    ['offered, APPLIED', { capabilities: STATUS, offer: offer('cs'), status: status('APPLIED') }, { state: 'applied' }],
    [
      'offered, FAILED: failed with its error',
      { capabilities: STATUS, offer: offer('cs'), status: status('FAILED', H, 'bad endpoint') },
      { state: 'failed', error: 'connection settings: bad endpoint' },
    ],
    [
      'offered, FAILED without a message',
      { capabilities: STATUS, offer: offer('cs'), status: status('FAILED') },
      { state: 'failed', error: 'connection settings: reported FAILED' },
    ],
    // Its status speaks of the settings before: the new ones are on their way.
    ['offered, APPLIED for another hash', { capabilities: STATUS, offer: offer('cs'), status: status('APPLIED', 'cd'.repeat(32)) }, { state: 'applying' }],
    ['offered, FAILED for another hash', { capabilities: STATUS, offer: offer('cs'), status: status('FAILED', 'cd'.repeat(32)) }, { state: 'applying' }],
    // Without ReportsConnectionSettingsStatus an agent can never say: offered is all the server can know.
    ['no status capability, offered', { capabilities: OWN_METRICS, offer: offer('cs') }, { state: 'applied' }],
    ['no status capability, not offered yet', { capabilities: OWN_METRICS, offer: offer() }, { state: 'pending' }],
  ];
  it.each(rows)('%s', (_name, facts, expected) => {
    expect(observeConnectionSettings('cs', facts)).toEqual(expected);
  });
});

describe("a stage's connection-settings counts", () => {
  const rows: [string, Parameters<typeof settingsCounts>[0], boolean, ReturnType<typeof settingsCounts>][] = [
    ['each state counted', ['applied', 'applying', 'failed', 'pending', 'applied'], false, { applied: 2, applying: 1, failed: 1, pending: 1 }],
    ['out of time: all but applied count as failed', ['applied', 'applying', 'pending', 'failed'], true, { applied: 1, applying: 0, failed: 3, pending: 0 }],
    ['no agents', [], false, { applied: 0, applying: 0, failed: 0, pending: 0 }],
  ];
  it.each(rows)('%s', (_name, states, timedOut, expected) => {
    expect(settingsCounts(states, timedOut)).toEqual(expected);
  });
});
