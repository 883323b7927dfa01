import { Controller, DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { metricsRegistry } from './registry';

/**
 * The Prometheus endpoint: the process-wide registry (registry.ts) with the default process
 * metrics (event-loop lag included), served at /metrics on the API port, or on its own port when
 * METRICS_PORT is set (see server.ts). Each feature registers its own metrics on that registry
 * (opamp-gateway: opamp_*, agents: fleet gauges, database: command counts and latency).
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
          defaultMetrics: { enabled: metricsRegistry.getSingleMetric('process_cpu_user_seconds_total') === undefined },
          ...(servedOnApiPort ? {} : { controller: NoController }),
        }),
      ],
    };
  }
}

/** Stands in for the metrics controller when metrics have a port of their own: no route. */
@Controller()
class NoController {}
