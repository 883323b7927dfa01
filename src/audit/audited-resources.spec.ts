import { AUDITED_KINDS, auditHash, changedPaths } from './audited-resources';

describe('audited resources', () => {
  it('hashes equal views equally whatever the key order, and names changed paths', () => {
    expect(auditHash({ a: 1, b: { c: 2, d: 3 } })).toBe(auditHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(auditHash(null)).toBeNull();
    expect(changedPaths({ labels: { env: 'a', team: 'x' }, spec: 1 }, { labels: { env: 'b', team: 'x' }, spec: 1 })).toEqual(['labels.env']);
    expect(changedPaths(null, { a: 1, b: 2 })).toEqual(['a', 'b']);
  });

  it('never keeps a password hash, only a digest that changes with it', () => {
    const view = AUDITED_KINDS.users.view({ _id: 'ada', role: 'admin', passwordHash: 'scrypt$1', updatedAt: new Date() });
    expect(view).toEqual({ role: 'admin', password: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(JSON.stringify(view)).not.toContain('scrypt');
    const changed = AUDITED_KINDS.users.view({ _id: 'ada', role: 'admin', passwordHash: 'scrypt$2' });
    expect(changedPaths(view, changed)).toEqual(['password']);
  });
});
