import { isSubset, manifestBody, pastTense, planApply } from './apply-plan';
import type { Resource } from './resource-fields';
import { resolveResourceType } from './resource-types';

const groups = resolveResourceType('agentgroups');
const configs = resolveResourceType('remoteconfigs');
const agents = resolveResourceType('agents');
const users = resolveResourceType('users');
const tokens = resolveResourceType('tokens');

/** A group as the server returns it: defaults filled in, read-only fields, status. */
const serverGroup = (over: Record<string, unknown> = {}): Resource => ({
  kind: 'AgentGroup',
  apiVersion: 'v1',
  metadata: { name: 'checkout', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', resourceVersion: '4' },
  spec: { selector: 'service.name=checkout', priority: 0, configs: [{ fileName: '', remoteConfig: 'base' }], ...over },
  status: { agents: 3 },
});

describe('apply planning', () => {
  const manifest: Resource = {
    kind: 'AgentGroup',
    apiVersion: 'v1',
    metadata: { name: 'checkout' },
    spec: { selector: 'service.name=checkout', configs: [{ fileName: '', remoteConfig: 'base' }] },
  };

  it('creates what is absent, without status or server-owned metadata', () => {
    const plan = planApply(groups, { ...manifest, metadata: { name: 'checkout', resourceVersion: '9', createdAt: 'x' }, status: { agents: 1 } }, undefined);
    expect(plan).toEqual({ action: 'create', body: { kind: 'AgentGroup', apiVersion: 'v1', metadata: { name: 'checkout' }, spec: manifest.spec } });
  });

  it('leaves a resource alone when the manifest equals it once defaults are filled in', () => {
    expect(planApply(groups, manifest, serverGroup()).action).toBe('unchanged');
    // The server omits empty labels; the manifest may give none or {}.
    expect(planApply(groups, { ...manifest, metadata: { name: 'checkout', labels: {} } }, serverGroup()).action).toBe('unchanged');
  });

  it('replaces with the current resourceVersion when something differs', () => {
    const plan = planApply(groups, { ...manifest, spec: { ...manifest.spec, priority: 5 } }, serverGroup());
    expect(plan.action).toBe('replace');
    expect(plan.body?.metadata).toEqual({ name: 'checkout', resourceVersion: '4' });
    expect(plan.body?.spec).toMatchObject({ priority: 5 });
    // Leaving out a field that the server has set is a change back to its default.
    expect(planApply(groups, manifest, serverGroup({ priority: 7 })).action).toBe('replace');
    expect(planApply(groups, { ...manifest, metadata: { name: 'checkout', labels: { team: 'a' } } }, serverGroup()).action).toBe('replace');
  });

  it('compares remote configs by content type (default application/yaml), body and description', () => {
    const current: Resource = {
      kind: 'RemoteConfig',
      metadata: { name: 'base', resourceVersion: '2' },
      spec: { contentType: 'application/yaml', body: 'a: 1\n' },
      status: { latestRevision: 2 },
    };
    expect(planApply(configs, { kind: 'RemoteConfig', metadata: { name: 'base' }, spec: { body: 'a: 1\n' } }, current).action).toBe('unchanged');
    expect(planApply(configs, { kind: 'RemoteConfig', metadata: { name: 'base' }, spec: { body: 'a: 2\n' } }, current).action).toBe('replace');
    expect(planApply(configs, { kind: 'RemoteConfig', metadata: { name: 'base' }, spec: { body: 'a: 1\n', description: 'd' } }, current).action).toBe(
      'replace',
    );
  });

  it('sets the labels of an existing agent with a merge patch that removes the others', () => {
    const agent: Resource = { kind: 'Agent', metadata: { name: 'u1', labels: { a: '1', old: 'x' } }, spec: {}, status: {} };
    const plan = planApply(agents, { kind: 'Agent', metadata: { name: 'u1', labels: { a: '1', b: '2' } } }, agent);
    expect(plan).toEqual({ action: 'patch', body: { metadata: { labels: { a: '1', b: '2', old: null } } } });
    expect(planApply(agents, { kind: 'Agent', metadata: { name: 'u1', labels: { a: '1', old: 'x' } } }, agent).action).toBe('unchanged');
    expect(() => planApply(agents, { kind: 'Agent', metadata: { name: 'u2' } }, undefined)).toThrow(/created by connecting/);
  });

  it('patches a user spec, never resending a password', () => {
    const current: Resource = { kind: 'User', metadata: { name: 'ada' }, spec: { role: 'viewer', disabled: false, githubLogin: null } };
    const same = planApply(users, { kind: 'User', metadata: { name: 'ada' }, spec: { role: 'viewer', password: 'long enough secret' } }, current);
    expect(same.action).toBe('unchanged');
    expect(planApply(users, { kind: 'User', metadata: { name: 'ada' }, spec: { role: 'admin', password: 'p' } }, current)).toEqual({
      action: 'patch',
      body: { spec: { role: 'admin' } },
    });
    expect(planApply(users, { kind: 'User', metadata: { name: 'new' }, spec: { role: 'admin', password: 'p' } }, undefined).body?.spec).toEqual({
      role: 'admin',
      password: 'p',
    });
  });

  it('refuses kinds that cannot be applied', () => {
    expect(() => planApply(tokens, { kind: 'EnrollmentToken', spec: {} }, undefined)).toThrow(/use opampctl create token/);
  });

  it('has helpers with plain semantics', () => {
    expect(isSubset({ a: 1, b: { c: [1] } }, { a: 1, b: { c: [1], d: 2 }, e: 3 })).toBe(true);
    expect(isSubset({ b: { c: [1, 2] } }, { b: { c: [1] } })).toBe(false);
    expect(manifestBody({ kind: 'X', metadata: { name: 'n', updatedAt: 'u' }, status: {} })).toEqual({ kind: 'X', metadata: { name: 'n' } });
    expect(['create', 'replace', 'patch', 'unchanged'].map((a) => pastTense(a as 'create'))).toEqual(['created', 'configured', 'configured', 'unchanged']);
  });
});
