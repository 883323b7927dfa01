import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { TooManyRequestsError, UnauthorizedError } from '../common/domain-errors';

/** Most keys remembered per limiter; beyond it the stalest are dropped (memory stays bounded under a spray of names). */
const MAX_KEYS = 100_000;

/**
 * Token buckets, one per key: `perMinute` attempts in a burst, refilled at `perMinute` a
 * minute. In memory, so per replica: N replicas let N times as many attempts through.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the key's bucket has a token (0: it has one now); takes nothing. */
  wait(key: string): number {
    const tokens = this.tokens(key);
    return tokens < 1 ? this.secondsUntilOne(tokens) : 0;
  }

  /** Takes one token; returns 0 when granted, else the seconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const tokens = this.tokens(key);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return this.secondsUntilOne(tokens);
    }
    this.buckets.delete(key); // re-inserted last: Map order is then least recently used first
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value!);
    return 0;
  }

  private tokens(key: string): number {
    const b = this.buckets.get(key);
    return b ? Math.min(this.perMinute, b.tokens + (this.now() - b.at) * (this.perMinute / 60_000)) : this.perMinute;
  }

  private secondsUntilOne(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / (this.perMinute / 60_000) / 1000));
  }
}

/** Login attempts limited per user name and per client address (LOGIN_RATE_LIMIT_*). */
@Injectable()
export class LoginRateLimiter {
  private readonly perUser: TokenBuckets;
  private readonly perAddress: TokenBuckets;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.perUser = new TokenBuckets(config.auth.loginRateLimitPerUser);
    this.perAddress = new TokenBuckets(config.auth.loginRateLimitPerAddress);
  }

  /** Counts one attempt; throws 429 when either bucket is empty. */
  attempt(username: string, address: string): void {
    const waitAddress = this.perAddress.take(address);
    const waitUser = this.perUser.take(username.toLowerCase());
    refuseWhileWaiting(Math.max(waitAddress, waitUser));
  }

  /**
   * Runs a refresh-token exchange. Only a refused one counts against the address: a valid
   * refresh is what every page load and tab of the web UI does, and counting those signed a
   * busy user (or an office behind one NAT address) out. Guessing stays limited: while the
   * address's bucket is empty, nothing is tried.
   */
  async refresh<T>(address: string, exchange: () => Promise<T>): Promise<T> {
    refuseWhileWaiting(this.perAddress.wait(address));
    try {
      return await exchange();
    } catch (err) {
      if (err instanceof UnauthorizedError) this.perAddress.take(address);
      throw err;
    }
  }
}

/** 429 with Retry-After when a bucket needs `wait` seconds before it grants another attempt. */
function refuseWhileWaiting(wait: number): void {
  if (wait > 0) throw new TooManyRequestsError(`Too many login attempts; retry in ${wait} s.`, wait);
}
