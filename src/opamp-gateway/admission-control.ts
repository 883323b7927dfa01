/**
 * Bounds what agents can demand of one replica: at most `maxConnections` at once, at most
 * `perSecond` new ones per second (a token bucket, so short bursts up to one second's worth
 * pass). Beyond either, the handshake or POST is answered 503 + Retry-After and nothing
 * already connected is touched.
 */
export class AdmissionControl {
  private tokens: number;
  private refilledAt = Date.now();
  private rejectedCount = 0;

  constructor(
    private readonly maxConnections: number,
    private readonly perSecond: number,
    private readonly currentConnections: () => number,
  ) {
    this.tokens = perSecond;
  }

  /** Takes one new-connection token if the limits allow; false means "answer 503". */
  admitNew(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.currentConnections() >= this.maxConnections || this.tokens < 1) {
      this.rejectedCount++;
      return false;
    }
    this.tokens -= 1;
    return true;
  }

  get rejected(): number {
    return this.rejectedCount;
  }
}
