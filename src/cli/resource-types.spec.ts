import { findResourceType, qualifiedName, resolveResourceType, RESOURCE_TYPES, typeOfKind } from './resource-types';

describe('resource types', () => {
  it('every name and short name points at exactly one type', () => {
    const seen = new Map<string, string>();
    for (const t of RESOURCE_TYPES) {
      for (const n of new Set([t.plural, t.singular, t.kind.toLowerCase(), ...t.aliases])) {
        expect(seen.get(n) ?? t.plural).toBe(t.plural);
        seen.set(n, t.plural);
      }
    }
  });

  it('resolves kubectl-like names case-insensitively', () => {
    expect(resolveResourceType('ag').plural).toBe('agents');
    expect(resolveResourceType('Agent').plural).toBe('agents');
    expect(resolveResourceType('grp').plural).toBe('agentgroups');
    expect(resolveResourceType('rc').plural).toBe('remoteconfigs');
    expect(resolveResourceType('history').plural).toBe('revisions');
    expect(resolveResourceType('tokens').path).toBe('/enrollment-tokens');
    expect(typeOfKind('RemoteConfig')?.plural).toBe('remoteconfigs');
    expect(findResourceType('nope')).toBeUndefined();
    expect(() => resolveResourceType('foos')).toThrow('the server doesn\'t have a resource type "foos"');
  });

  it('names resources kind/name', () => {
    expect(qualifiedName(resolveResourceType('agentgroups'), { metadata: { name: 'checkout' } })).toBe('agentgroup/checkout');
    expect(qualifiedName(resolveResourceType('history'), { metadata: { name: 'base', revision: 3 } })).toBe('revision/base@3');
  });

  it("shows whether a replica is asking agents to reconnect elsewhere (get replicas' REBALANCE)", () => {
    const column = findResourceType('replicas')!.columns.find((c) => c.header === 'REBALANCE')!;
    const row = (rebalance: unknown) => column.value({ kind: 'Replica', metadata: { name: 'r1' }, status: { rebalance } }, Date.now());
    expect(row({ state: 'idle', since: '2026-12-03T10:00:00Z' })).toBe('idle');
    expect(row({ state: 'draining', reason: 'shutdown', shed: 3, target: 10, since: '2026-12-03T10:00:00Z' })).toBe('draining 3/10 (shutdown)');
    expect(row(null)).toBe('<none>');
  });
});
