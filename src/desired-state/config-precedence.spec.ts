import { selectorRequirements } from '../common/selectors';
import { byPrecedence, governedQuery, governingGroup, hasOwnConfig } from './config-precedence';

const group = (name: string, priority: number, selector: string) => ({ name, priority, requirements: selectorRequirements(selector, 'spec.selector') });
const agent = (labels: Record<string, string>) => ({ labels });

describe('where an agent’s config comes from (config precedence)', () => {
  const groups = [group('edge-agents', 5, 'tier=edge'), group('checkout', 10, 'service.name=checkout'), group('a-tie', 5, 'tier=edge')].sort(byPrecedence);

  it('orders groups by priority, ties by name', () => {
    expect(groups.map((g) => g.name)).toEqual(['checkout', 'a-tie', 'edge-agents']);
  });

  it('gives an agent the first group that matches it; its own entries override every group', () => {
    expect(governingGroup(groups, agent({ 'service.name': 'checkout', tier: 'edge' }))?.name).toBe('checkout');
    expect(governingGroup(groups, agent({ tier: 'edge' }))?.name).toBe('a-tie');
    expect(governingGroup(groups, agent({}))).toBeUndefined();
    expect(hasOwnConfig({ configs: [{ fileName: '', remoteConfig: 'x' }] })).toBe(true);
    expect(hasOwnConfig({ files: [{ fileName: 'a', contentType: 'text/plain', body: '' }] })).toBe(true);
    expect(hasOwnConfig({ configs: [], files: [] })).toBe(false);
    expect(hasOwnConfig(null)).toBe(false);
  });

  it('as a database filter: this group’s selector, no own config, and none of the groups before it', () => {
    expect(governedQuery(groups, 'checkout')).toEqual({
      requirements: groups[0].requirements,
      extra: { $nor: [{ 'assignedConfig.configs.0': { $exists: true } }, { 'assignedConfig.files.0': { $exists: true } }] },
    });
    expect(governedQuery(groups, 'edge-agents')!.extra).toEqual({
      $and: [
        { $nor: [{ 'assignedConfig.configs.0': { $exists: true } }, { 'assignedConfig.files.0': { $exists: true } }] },
        { $nor: [{ selectorTerms: { $in: ['service.name=checkout'] } }, { selectorTerms: { $in: ['tier=edge'] } }] },
      ],
    });
    expect(governedQuery(groups, 'deleted')).toBeUndefined();
  });
});
