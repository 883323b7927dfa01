import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { Gauge, Histogram, register } from 'prom-client';
import { AgentsService } from '../agents/agents.service';
import { SessionStore } from '../opamp-gateway/session-store';

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** Gauges read this instance when scraped, so a new server in the same process replaces them. */
function fresh<T>(name: string, make: () => T): T {
  register.removeSingleMetric(name);
  return make();
}

/** Database-backed gauges are recomputed at most this often, whatever the scrape rate. */
const DB_GAUGE_TTL_MS = 15_000;

/**
 * Fleet-level metrics: agents connected to this replica by transport (from memory), remote
 * config states and health over the whole fleet (database counts, cached), and MongoDB
 * command latency (from the driver's command monitoring).
 */
@Injectable()
export class FleetMetrics implements OnModuleInit {
  private counts?: { at: number; value: Promise<Awaited<ReturnType<AgentsService['fleetCounts']>>> };

  constructor(
    private readonly sessions: SessionStore,
    private readonly agents: AgentsService,
    @InjectConnection() private readonly connection: Connection,
  ) {}

  onModuleInit(): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the metric as `this`
    const self = this;
    fresh(
      'opamp_agents_connected',
      () =>
        new Gauge({
          name: 'opamp_agents_connected',
          help: 'Agents connected to this replica, by transport (HTTP: polled within the last 3 intervals)',
          labelNames: ['transport'],
          collect() {
            for (const [transport, n] of Object.entries(self.sessions.connectedByTransport())) this.set({ transport }, n);
          },
        }),
    );
    fresh(
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
    fresh(
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
    const dbLatency = once(
      'mongodb_command_duration_seconds',
      () =>
        new Histogram({
          name: 'mongodb_command_duration_seconds',
          help: 'Latency of MongoDB commands, by command',
          labelNames: ['command', 'outcome'],
          buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        }),
    );
    const client = this.connection.getClient();
    client.on('commandSucceeded', (e) => dbLatency.observe({ command: e.commandName, outcome: 'ok' }, e.duration / 1000));
    client.on('commandFailed', (e) => dbLatency.observe({ command: e.commandName, outcome: 'error' }, e.duration / 1000));
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
