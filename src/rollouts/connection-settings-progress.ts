import type { StoredConnectionSettings } from '../agent-groups/agent-group.schema';
import type { ConnectionSettingsStageCounts } from './rollout.schema';

/**
 * How a rollout of connection settings judges an agent (issue 19), with no I/O.
 *
 * The offer an agent gets is built per agent (only the parts its capabilities accept, the
 * server's defaults merged in, its own enrollment token in the own-metrics default), so the
 * rollout cannot know the hash each agent should report. The gateway says instead, with the
 * offer it records for the agent (`connectionSettingsOffer.rollout`), which rollout's settings
 * that offer was made from; it records it even when the new settings give this agent the same
 * offer as before (then nothing is sent). The agent is then judged by the ConnectionSettingsStatus
 * it reports for the hash last offered:
 *
 * - no offer from this rollout yet: pending;
 * - APPLIED for that hash: applied; FAILED: failed (the applyFailed gate counts it); APPLYING or
 *   no status for it yet: applying (the stage waits, up to applyTimeoutSeconds);
 * - an agent without ReportsConnectionSettingsStatus cannot say: it counts as applied once the
 *   offer is recorded (sent, or already held) — the server knows no more, and waiting for a
 *   report that can never come would fail every such agent at the timeout. Its gates are
 *   `disconnected`, `unhealthy` and the data-plane ones.
 *
 * An agent that disconnects after it was sent new OpAMP settings (a bad endpoint) and never
 * reports stays `applying`: at the apply timeout it counts as failed, and the `disconnected`
 * gate counts it too; one that reports APPLIED and then disconnects is caught by the
 * `disconnected` gate (watched during the stage's bake).
 */

export type SettingsState = 'applied' | 'applying' | 'failed' | 'pending';

const CAP = {
  reportsOwnTraces: 0x20,
  reportsOwnMetrics: 0x40,
  reportsOwnLogs: 0x80,
  acceptsOpamp: 0x100,
  reportsHeartbeat: 0x2000,
  reportsConnectionSettingsStatus: 0x8000,
} as const;

/** What the rollout needs to know of one agent's connection settings. */
export interface SettingsFacts {
  capabilities: number;
  /** The offer last recorded for it: its hash (hex) and the rollout whose settings it was made from. */
  offer?: { lastSentHash: string; rollout?: string } | null;
  /** The ConnectionSettingsStatus it last reported (hash as hex). */
  status?: { lastConnectionSettingsHash: string; status: string; errorMessage?: string };
}

export interface SettingsObservation {
  state: SettingsState;
  /** Why it failed, when it reported FAILED. */
  error?: string;
}

const has = (caps: number, bit: number) => (caps & bit) !== 0;

/**
 * Whether the agent takes any part of these settings (an offer of it would carry that part):
 * OpAMP settings with AcceptsOpAMPConnectionSettings (the heartbeat with them, or alone with
 * ReportsHeartbeat), own telemetry destinations with ReportsOwnMetrics/Traces/Logs. An agent that
 * takes none of what the rollout changes is not picked by its stages (it gets the group's
 * settings, which are the new ones once the rollout succeeds).
 */
export function takesConnectionSettings(capabilities: number, ...settings: (StoredConnectionSettings | undefined)[]): boolean {
  const opamp = has(capabilities, CAP.acceptsOpamp);
  return settings.some((s) => {
    if (!s) return false;
    if (opamp && s.opamp?.endpoint) return true;
    if (s.heartbeatIntervalSeconds !== undefined && (opamp ? !!s.opamp?.endpoint : has(capabilities, CAP.reportsHeartbeat))) return true;
    if (s.ownMetrics?.endpoint && has(capabilities, CAP.reportsOwnMetrics)) return true;
    if (s.ownTraces?.endpoint && has(capabilities, CAP.reportsOwnTraces)) return true;
    return !!s.ownLogs?.endpoint && has(capabilities, CAP.reportsOwnLogs);
  });
}

/** How rollout `rollout`'s connection settings stand on one agent (see the file comment). */
export function observeConnectionSettings(rollout: string, f: SettingsFacts): SettingsObservation {
  const offer = f.offer;
  if (!offer || offer.rollout !== rollout) return { state: 'pending' };
  if (!has(f.capabilities, CAP.reportsConnectionSettingsStatus)) return { state: 'applied' };
  const s = f.status;
  if (!s || s.lastConnectionSettingsHash !== offer.lastSentHash) return { state: 'applying' };
  if (s.status === 'APPLIED') return { state: 'applied' };
  if (s.status === 'FAILED') return { state: 'failed', error: `connection settings: ${s.errorMessage || 'reported FAILED'}` };
  return { state: 'applying' };
}

/** A stage's connection-settings counts; agents that ran out of time count as failed. */
export function settingsCounts(states: readonly SettingsState[], timedOut: boolean): ConnectionSettingsStageCounts {
  const out: ConnectionSettingsStageCounts = { applied: 0, applying: 0, failed: 0, pending: 0 };
  for (const s of states) out[timedOut && s !== 'applied' ? 'failed' : s]++;
  return out;
}

/** `opamp, ownMetrics`: the parts the settings set, for messages. */
export function settingsText(s: StoredConnectionSettings | undefined): string {
  const parts = Object.keys(s ?? {}).filter((k) => (s as Record<string, unknown>)[k] !== undefined);
  return parts.length ? parts.join(', ') : 'none';
}
