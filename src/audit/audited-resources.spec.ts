import { auditedUsers } from '../auth/users.audited';
import type { User } from '../auth/user.schema';
import type { UsersRepository } from '../auth/users.repository';
import { AuditedKinds } from './audited-kinds';
import { auditHash, changedPaths } from './audited-resources';

describe('audited resources', () => {
  it('hashes equal views equally whatever the key order, and names changed paths', () => {
    expect(auditHash({ a: 1, b: { c: 2, d: 3 } })).toBe(auditHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(auditHash(null)).toBeNull();
    expect(changedPaths({ labels: { env: 'a', team: 'x' }, spec: 1 }, { labels: { env: 'b', team: 'x' }, spec: 1 })).toEqual(['labels.env']);
    expect(changedPaths(null, { a: 1, b: 2 })).toEqual(['a', 'b']);
  });

  it('never keeps a password hash, only a digest that changes with it', () => {
    const users = auditedUsers({} as UsersRepository);
    const ada: User = { _id: 'ada', role: 'admin', passwordHash: 'scrypt$1', disabled: false, source: 'local', createdAt: new Date(1), updatedAt: new Date() };
    const view = users.view(ada);
    expect(view).toEqual({ role: 'admin', disabled: false, source: 'local', createdAt: ada.createdAt, password: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(JSON.stringify(view)).not.toContain('scrypt');
    const changed = users.view({ ...ada, passwordHash: 'scrypt$2', updatedAt: new Date(2) });
    expect(changedPaths(view, changed)).toEqual(['password']);
  });

  it('refuses a kind registered twice (two owners of one kind)', () => {
    const kinds = new AuditedKinds();
    kinds.register('things', { read: async () => undefined, view: () => ({}) });
    expect(() => kinds.register('things', { read: async () => undefined, view: () => ({}) })).toThrow('audited kind things registered twice');
    expect(kinds.names()).toEqual(['things']);
  });
});
