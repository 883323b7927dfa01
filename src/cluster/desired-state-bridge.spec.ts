import { parseDesiredStateChange } from './desired-state-bridge';

describe('parseDesiredStateChange (what another replica sent over the bus)', () => {
  it('takes a well-formed change as is', () => {
    expect(parseDesiredStateChange({ reason: 'agentgroup.replaced', groups: ['edge'], configs: [] })).toEqual({
      reason: 'agentgroup.replaced',
      groups: ['edge'],
      configs: [],
      agents: undefined,
    });
    expect(parseDesiredStateChange({ reason: 'agent.labels', agents: ['0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90'] })?.agents).toHaveLength(1);
  });

  it.each([
    ['null', null],
    ['a string', 'agentgroup.created'],
    ['an unknown reason', { reason: 'drop.database' }],
    ['groups that are not strings', { reason: 'agentgroup.created', groups: [{ $gt: '' }] }],
    ['agents that are not a list', { reason: 'agent.config', agents: 'all' }],
    ['a list too long to be real', { reason: 'agent.config', agents: Array.from({ length: 10_001 }, (_, i) => String(i)) }],
  ])('refuses %s', (_what, body) => {
    expect(parseDesiredStateChange(body)).toBeUndefined();
  });
});
