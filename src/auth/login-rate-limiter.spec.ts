import { TokenBuckets } from './login-rate-limiter';

describe('TokenBuckets', () => {
  it('allows a burst, then one attempt per refill interval, per key', () => {
    let now = 0;
    const b = new TokenBuckets(3, () => now);
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0]);
    expect(b.take('a')).toBe(20); // 3 a minute: one every 20 s
    expect(b.take('b')).toBe(0);
    now += 20_000;
    expect(b.take('a')).toBe(0);
    expect(b.take('a')).toBeGreaterThan(0);
    now += 60_000;
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a') > 0]).toEqual([0, 0, 0, true]);
  });
});
