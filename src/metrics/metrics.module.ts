import { Controller, DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { AgentsModule } from '../agents/agents.module';
import { OpampGatewayModule } from '../opamp-gateway/opamp-gateway.module';
import { FleetMetrics } from './fleet-metrics.service';

/**
 * Prometheus metrics: the default process metrics (event-loop lag included), the protocol's
 * opamp_* metrics and the fleet gauges. Served at /metrics on the API port, or on its own
 * port when METRICS_PORT is set (see server.ts).
 */
@Module({})
export class MetricsModule {
  static forRoot(servedOnApiPort: boolean): DynamicModule {
    return {
      module: MetricsModule,
      imports: [
        PrometheusModule.register({
          path: '/metrics',
          // Process metrics are registered once per process (a second server in one process, as in tests, reuses them).
          defaultMetrics: { enabled: register.getSingleMetric('process_cpu_user_seconds_total') === undefined },
          ...(servedOnApiPort ? {} : { controller: NoController }),
        }),
        AgentsModule,
        OpampGatewayModule,
      ],
      providers: [FleetMetrics],
    };
  }
}

/** Stands in for the metrics controller when metrics have a port of their own: no route. */
@Controller()
class NoController {}
