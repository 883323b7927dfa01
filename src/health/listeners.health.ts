import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

/**
 * Listeners (OpAMP WebSocket/HTTP, gRPC) register here once they are bound, so readiness only
 * turns green when agents can actually connect.
 */
@Injectable()
export class ListenersHealthIndicator {
  private readonly up = new Map<string, boolean>();

  constructor(private readonly indicator: HealthIndicatorService) {}

  set(name: string, isUp: boolean): void {
    this.up.set(name, isUp);
  }

  check(key: string) {
    const session = this.indicator.check(key);
    const state = Object.fromEntries(this.up);
    const down = [...this.up].filter(([, v]) => !v).map(([k]) => k);
    return down.length === 0 ? session.up(state) : session.down({ ...state, message: `not listening: ${down.join(', ')}` });
  }
}
