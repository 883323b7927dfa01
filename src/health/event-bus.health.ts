import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { EventBus } from '../cluster/event-bus';

/**
 * The event bus between replicas in /readyz: always "up" (a replica without its bus still serves
 * its agents, which get others' changes at the next reconcile), with `connected` saying whether it
 * reaches the bus now, so that a probe stays green and an operator still sees the fault.
 */
@Injectable()
export class EventBusHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly bus: EventBus,
  ) {}

  check(key: string) {
    return this.indicator.check(key).up({ kind: this.bus.kind, connected: this.bus.connected });
  }
}
