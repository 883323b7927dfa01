import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { Histogram } from 'prom-client';
import { sharedMetric } from '../metrics/registry';

/** MongoDB command latency by command, from the driver's command monitoring. */
@Injectable()
export class CommandLatencyMetrics implements OnModuleInit {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  onModuleInit(): void {
    const latency = sharedMetric(
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
    client.on('commandSucceeded', (e) => latency.observe({ command: e.commandName, outcome: 'ok' }, e.duration / 1000));
    client.on('commandFailed', (e) => latency.observe({ command: e.commandName, outcome: 'error' }, e.duration / 1000));
  }
}
