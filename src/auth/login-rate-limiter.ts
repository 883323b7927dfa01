import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { TooManyRequestsError } from '../common/domain-errors';

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

  /** Takes one token; returns 0 when granted, else the seconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(key);
    const tokens = b ? Math.min(this.perMinute, b.tokens + (now - b.at) * rate) : this.perMinute;
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return Math.max(1, Math.ceil((1 - tokens) / rate / 1000));
    }
    this.buckets.delete(key); // re-inserted last: Map order is then least recently used first
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value!);
    return 0;
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
  attempt(username: string | undefined, address: string): void {
    const waitAddress = this.perAddress.take(address);
    const waitUser = username === undefined ? 0 : this.perUser.take(username.toLowerCase());
    const wait = Math.max(waitAddress, waitUser);
    if (wait > 0) throw new TooManyRequestsError(`Too many login attempts; retry in ${wait} s.`, wait);
  }
}
