import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
import { CONDITION_TYPES } from './agent-conditions';
import { TelemetryService } from './telemetry.service';

/** Gauges read this instance when scraped, so a new server in the same process replaces them. */
function fresh<T>(name: string, make: () => T): T {
  register.removeSingleMetric(name);
  return make();
}

/** Prometheus gauges of agents' own telemetry on this replica: agents per condition, windows held. */
@Injectable()
export class TelemetryMetrics implements OnModuleInit {
  constructor(private readonly telemetry: TelemetryService) {}

  onModuleInit(): void {
    const telemetry = this.telemetry;
    fresh(
      'opamp_agent_conditions',
      () =>
        new Gauge({
          name: 'opamp_agent_conditions',
          help: 'Agents whose condition (Idle, ExportFailing, Stale, Restarting) is True, among those whose own telemetry this replica holds',
          labelNames: ['type'],
          collect() {
            const counts = telemetry.conditionCounts();
            for (const type of CONDITION_TYPES) this.set({ type }, counts[type]);
          },
        }),
    );
    fresh(
      'opamp_telemetry_windows',
      () =>
        new Gauge({
          name: 'opamp_telemetry_windows',
          help: 'Agents whose own-metrics window this replica holds',
          collect() {
            this.set(telemetry.windows);
          },
        }),
    );
  }
}
