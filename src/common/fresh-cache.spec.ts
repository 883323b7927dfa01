import { FreshCache } from './fresh-cache';

describe('FreshCache', () => {
  it('answers within freshMs of the verification and not after', () => {
    const c = new FreshCache<string, number>(1000, 10);
    c.set('a', 1, 5000);
    expect(c.fresh('a', 5999)).toBe(1);
    expect(c.fresh('a', 6000)).toBeUndefined();
    // The stale entry is still there for a caller that accepts it (database unreachable).
    expect(c.entry('a')).toEqual({ value: 1, verifiedAt: 5000 });
  });

  it('forgets one key, or every entry a test picks', () => {
    const c = new FreshCache<string, { user: string }>(1000, 10);
    c.set('s1', { user: 'ann' }, 0);
    c.set('s2', { user: 'ann' }, 0);
    c.set('s3', { user: 'bob' }, 0);
    c.forget('s3');
    expect(c.fresh('s3', 1)).toBeUndefined();
    c.forgetWhere((v) => v.user === 'ann');
    expect(c.size).toBe(0);
  });

  it('keeps at most max entries, dropping the oldest', () => {
    const c = new FreshCache<number, number>(1000, 3);
    for (let i = 0; i < 5; i++) c.set(i, i, 0);
    expect(c.size).toBe(3);
    expect(c.fresh(0, 1)).toBeUndefined();
    expect(c.fresh(1, 1)).toBeUndefined();
    expect(c.fresh(4, 1)).toBe(4);
  });
});
