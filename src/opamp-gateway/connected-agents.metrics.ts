import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { replacedMetric } from '../metrics/registry';
import { SessionStore } from './session-store';

/** Agents connected to this replica by transport, read from the session store when scraped. */
@Injectable()
export class ConnectedAgentsMetrics implements OnModuleInit {
  constructor(private readonly session: SessionStore) {}

  onModuleInit(): void {
    const session = this.session;
    replacedMetric(
      'opamp_agents_connected',
      () =>
        new Gauge({
          name: 'opamp_agents_connected',
          help: 'Agents connected to this replica, by transport (HTTP: polled within the last 3 intervals)',
          labelNames: ['transport'],
          collect() {
            for (const [transport, n] of Object.entries(session.connectedByTransport())) this.set({ transport }, n);
          },
        }),
    );
  }
}
