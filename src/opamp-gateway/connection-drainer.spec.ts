import { AgentCapabilities } from '../gen/opamp/v1/opamp_pb';
import { midConfigApply } from './connection-drainer';
import type { SessionState } from './session-store';

const REPORTS = BigInt(AgentCapabilities.AgentCapabilities_ReportsRemoteConfig);
const session = (over: Partial<SessionState> & { status?: { lastRemoteConfigHash: string; status: string } }): SessionState =>
  ({
    lastSeq: 0n,
    capabilities: REPORTS,
    lastSeenAt: 0,
    holds: {
      capabilities: 0,
      hasDescription: true,
      hasHealth: false,
      hasEffectiveConfig: false,
      hasRemoteConfigStatus: !!over.status,
      hasPackageStatuses: false,
      hasConnectionSettingsStatus: false,
      remoteConfigStatus: over.status ? { ...over.status, errorMessage: '' } : undefined,
    },
    ...over,
  }) as SessionState;

describe('midConfigApply (a drain leaves these agents for later)', () => {
  it('an agent that said APPLYING is mid-apply', () => {
    expect(midConfigApply(session({ status: { lastRemoteConfigHash: 'aa', status: 'APPLYING' } }))).toBe(true);
  });

  it('an agent sent a config this session that has not answered for it yet is mid-apply', () => {
    expect(midConfigApply(session({ sentConfigHash: 'bb', status: { lastRemoteConfigHash: 'aa', status: 'APPLIED' } }))).toBe(true);
    expect(midConfigApply(session({ sentConfigHash: 'bb' }))).toBe(true);
  });

  it('an agent that applied what it was sent, or was sent nothing, is not', () => {
    expect(midConfigApply(session({ sentConfigHash: 'bb', status: { lastRemoteConfigHash: 'bb', status: 'APPLIED' } }))).toBe(false);
    expect(midConfigApply(session({ status: { lastRemoteConfigHash: 'aa', status: 'APPLIED' } }))).toBe(false);
    expect(midConfigApply(undefined)).toBe(false);
  });

  it('an agent that never reports remote config status is never waited for', () => {
    expect(midConfigApply(session({ capabilities: 0n, sentConfigHash: 'bb' }))).toBe(false);
  });
});
