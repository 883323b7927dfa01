import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { replacedMetric } from '../metrics/registry';
import { AgentsService } from './agents.service';

/** Database-backed gauges are recomputed at most this often, whatever the scrape rate. */
const DB_GAUGE_TTL_MS = 15_000;

/** Remote config states and health over the whole fleet, from database counts (cached). */
@Injectable()
export class FleetStateMetrics implements OnModuleInit {
  private counts?: { at: number; value: Promise<Awaited<ReturnType<AgentsService['fleetCounts']>>> };

  constructor(private readonly agents: AgentsService) {}

  onModuleInit(): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the metric as `this`
    const self = this;
    replacedMetric(
      'opamp_agents_remote_config',
      () =>
        new Gauge({
          name: 'opamp_agents_remote_config',
          help: 'Agents of the whole fleet by remote config delivery state (applied, applying, failed, pending, unsupported)',
          labelNames: ['state'],
          async collect() {
            const c = await self.fleetCounts();
            for (const [state, n] of Object.entries(c.configStates)) this.set({ state }, n);
          },
        }),
    );
    replacedMetric(
      'opamp_agents_health',
      () =>
        new Gauge({
          name: 'opamp_agents_health',
          help: 'Connected agents of the whole fleet by reported health',
          labelNames: ['healthy'],
          async collect() {
            const c = await self.fleetCounts();
            this.set({ healthy: 'true' }, c.healthy);
            this.set({ healthy: 'false' }, c.unhealthy);
          },
        }),
    );
    replacedMetric(
      'opamp_agents_config_drift',
      () =>
        new Gauge({
          name: 'opamp_agents_config_drift',
          help: 'Agents of the whole fleet whose ConfigDrift condition is True: they report a config, but not the one they were sent (or one that runs no pipeline)',
          async collect() {
            this.set((await self.fleetCounts()).configDrift);
          },
        }),
    );
  }

  private fleetCounts() {
    const now = Date.now();
    if (!this.counts || now - this.counts.at > DB_GAUGE_TTL_MS) {
      const value = this.agents.fleetCounts();
      value.catch(() => (this.counts = undefined));
      this.counts = { at: now, value };
    }
    return this.counts.value;
  }
}
