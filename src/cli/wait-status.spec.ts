import { agentConfigState, configOutcome, governedBy, progressBar, resourceCondition, tally, tallyText } from './wait-status';

describe('waiting for applied configuration', () => {
  const desired = (state: string, desiredHash = 'h2', extra: object = {}) => ({
    assigned: true,
    acceptsRemoteConfig: true,
    hash: 'h2',
    delivery: { state, desiredHash },
    ...extra,
  });

  it('reads the delivery state of the current desired hash only', () => {
    expect(agentConfigState(desired('applied'))).toEqual({ state: 'applied' });
    // Applied, but for the config before the latest change: still pending.
    expect(agentConfigState(desired('applied', 'h1'))).toEqual({ state: 'pending' });
    expect(agentConfigState(desired('applying'))).toEqual({ state: 'applying' });
    expect(agentConfigState({ ...desired('failed'), delivery: { state: 'failed', desiredHash: 'h2', error: 'bad yaml' } })).toEqual({
      state: 'failed',
      error: 'bad yaml',
    });
    expect(agentConfigState({ assigned: true, hash: 'h2' })).toEqual({ state: 'pending' });
    expect(agentConfigState({ assigned: false })).toEqual({ state: 'unassigned' });
    expect(agentConfigState({ assigned: true, acceptsRemoteConfig: false })).toEqual({ state: 'unsupported' });
    expect(agentConfigState({ assigned: true, error: 'remote config "x" not found' })).toEqual({ state: 'failed', error: 'remote config "x" not found' });
  });

  it('is done when every connected agent applied, failed as soon as one failed', () => {
    const a = (state: 'applied' | 'pending' | 'failed' | 'unsupported', connected = true) => ({ uid: state, connected, verdict: { state } });
    const t1 = tally([a('applied'), a('pending'), a('pending', false)]);
    expect(t1).toMatchObject({ total: 2, applied: 1, pending: 1, disconnected: 1 });
    expect(configOutcome(t1)).toBe('waiting');
    expect(tallyText(t1)).toBe('1/2 applied (1 pending, 1 disconnected)');
    const t2 = tally([a('applied'), a('unsupported'), a('applied', false)]);
    expect(configOutcome(t2)).toBe('done');
    expect(tallyText(t2)).toBe('3/3 applied (1 without remote config)');
    expect(configOutcome(tally([a('applied'), a('failed')]))).toBe('failed');
    expect(configOutcome(tally([]))).toBe('waiting');
    expect(tallyText(tally([a('pending', false)]))).toBe('no connected agents yet (1 disconnected)');
  });

  it("leaves out of a group's wait the agents whose config comes from elsewhere", () => {
    const from = (origin: object) => ({ assigned: true, hash: 'h', origin });
    expect(governedBy(from({ kind: 'group', group: 'edge' }), 'edge')).toBe(true);
    expect(governedBy(from({ kind: 'group', group: 'checkout' }), 'edge')).toBe(false);
    expect(governedBy(from({ kind: 'agent' }), 'edge')).toBe(false);
    expect(governedBy({ assigned: false }, 'edge')).toBe(true);
    const applied = { uid: 'a', connected: true, verdict: { state: 'applied' as const } };
    // The only matched agent runs another group's config: nothing this group governs has applied anything.
    const t = tally([{ ...applied, elsewhere: true }]);
    expect(configOutcome(t)).toBe('waiting');
    expect(tallyText(t)).toBe('no agents governed by this group (1 matched but governed by another group or their own config)');
    expect(configOutcome(tally([applied, { ...applied, elsewhere: true }]))).toBe('done');
  });

  it('draws a progress bar', () => {
    expect(progressBar(0, 4, 8)).toBe('[--------]');
    expect(progressBar(1, 4, 8)).toBe('[##------]');
    expect(progressBar(4, 4, 8)).toBe('[########]');
    expect(progressBar(0, 0, 4)).toBe('[----]');
  });

  it('checks connected and healthy on agents and groups', () => {
    expect(resourceCondition('agent', 'connected', { status: { connected: true } })).toEqual({ met: true, text: 'connected=true' });
    expect(resourceCondition('agent', 'healthy', { status: {} }).met).toBe(false);
    expect(resourceCondition('agentgroup', 'healthy', { status: { agents: 2, healthy: 2 } })).toEqual({ met: true, text: '2/2 healthy' });
    expect(resourceCondition('agentgroup', 'connected', { status: { agents: 0, connected: 0 } }).met).toBe(false);
  });
});
