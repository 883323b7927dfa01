import { parseDesiredStateChange } from './desired-state-bridge';

describe('parseDesiredStateChange (what another replica sent over the bus)', () => {
  it('takes a well-formed change as is', () => {
    expect(parseDesiredStateChange({ reason: 'agentgroup.replaced', groups: ['edge'], configs: [] })).toEqual({
      change: { reason: 'agentgroup.replaced', groups: ['edge'], configs: [] },
    });
    expect(parseDesiredStateChange({ reason: 'agent.labels', agents: ['0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90'] })).toEqual({
      change: { reason: 'agent.labels', agents: ['0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90'] },
    });
  });

  it('carries what a retry forgets, so that the replicas holding the agents push to them again', () => {
    const agents = ['0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90'];
    expect(parseDesiredStateChange({ reason: 'agent.retry', agents, forgetFailedHash: 'ab12' })).toEqual({
      change: { reason: 'agent.retry', agents, forgetFailedHash: 'ab12' },
    });
    expect(parseDesiredStateChange({ reason: 'agent.retry', agents, forgetFailedPackageOffers: true })).toEqual({
      change: { reason: 'agent.retry', agents, forgetFailedPackageOffers: true },
    });
  });

  it.each([
    ['null', null, 'not an object'],
    ['a string', 'agentgroup.created', 'not an object'],
    ['a list', [], 'not an object'],
    ['an unknown reason', { reason: 'drop.database' }, 'unknown reason "drop.database"'],
    ['groups that are not strings', { reason: 'agentgroup.created', groups: [{ $gt: '' }] }, 'groups holds something other than strings'],
    ['a group name that is null', { reason: 'remoteconfig.revised', configs: ['c'], groups: [null] }, 'groups holds something other than strings'],
    ['agents that are not a list', { reason: 'agent.config', agents: 'all' }, 'agents is not a list'],
    [
      'a list too long to be real',
      { reason: 'agent.config', agents: Array.from({ length: 10_001 }, (_, i) => String(i)) },
      'agents holds 10001 names (at most 10000)',
    ],
    ['a failed hash that is not hex', { reason: 'agent.retry', agents: [], forgetFailedHash: { $ne: null } }, 'forgetFailedHash is not a hex hash'],
    [
      'a package flag that is not a boolean',
      { reason: 'agent.retry', agents: [], forgetFailedPackageOffers: 'yes' },
      'forgetFailedPackageOffers is not a boolean',
    ],
  ])('refuses %s, saying why', (_what, body, error) => {
    expect(parseDesiredStateChange(body)).toEqual({ error });
  });
});
