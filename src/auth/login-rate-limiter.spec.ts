import { TooManyRequestsError, UnauthorizedError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { LoginRateLimiter, TokenBuckets } from './login-rate-limiter';

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

  it('tells the wait without taking a token', () => {
    let now = 0;
    const b = new TokenBuckets(3, () => now);
    expect([b.wait('a'), b.wait('a'), b.wait('a'), b.wait('a')]).toEqual([0, 0, 0, 0]);
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0]);
    expect(b.wait('a')).toBe(20);
    now += 20_000;
    expect(b.wait('a')).toBe(0);
  });
});

describe('LoginRateLimiter.refresh', () => {
  const limiter = () => new LoginRateLimiter({ auth: { loginRateLimitPerUser: 10, loginRateLimitPerAddress: 2 } } as AppConfig);
  const refused = () => Promise.reject(new UnauthorizedError('The refresh token is not valid.'));

  it('never counts a valid refresh: a hundred in a row from one address all go through', async () => {
    const l = limiter();
    for (let i = 0; i < 100; i++) await expect(l.refresh('10.0.0.1', () => Promise.resolve(i))).resolves.toBe(i);
  });

  it('counts refused tokens per address; once its bucket is empty even a valid token waits (429), other addresses do not', async () => {
    const l = limiter();
    await expect(l.refresh('10.0.0.1', refused)).rejects.toThrow(UnauthorizedError);
    await expect(l.refresh('10.0.0.1', refused)).rejects.toThrow(UnauthorizedError);
    let tried = false;
    const valid = () => {
      tried = true;
      return Promise.resolve('pair');
    };
    await expect(l.refresh('10.0.0.1', valid)).rejects.toThrow(TooManyRequestsError);
    expect(tried).toBe(false);
    await expect(l.refresh('10.0.0.2', valid)).resolves.toBe('pair');
  });

  it('does not count other failures (a database outage) as guesses', async () => {
    const l = limiter();
    for (let i = 0; i < 5; i++)
      await expect(l.refresh('10.0.0.1', () => Promise.reject(new Error('database unavailable')))).rejects.toThrow('database unavailable');
    await expect(l.refresh('10.0.0.1', () => Promise.resolve('pair'))).resolves.toBe('pair');
  });
});
