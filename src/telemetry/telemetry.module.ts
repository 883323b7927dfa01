import { Module, OnModuleInit } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { AgentStatusExtensions } from '../agents/agent-status-extensions';
import { AgentAuthModule } from '../auth/enrollment/agent-auth.module';
import { OtlpMetricsReceiver } from './otlp-metrics.receiver';
import { OwnMetricsOffer } from './own-metrics-offer';
import { TelemetryController } from './telemetry.controller';
import { TelemetryMetrics } from './telemetry-metrics';
import { TelemetryService } from './telemetry.service';
import { TelemetryRouting } from './telemetry-routing';

/**
 * Agents' own telemetry (issue 20): the OTLP/HTTP metrics receiver (served on the OpAMP port by
 * the gateway's listener), per-agent rolling windows, the default own-metrics offer, and the
 * conditions shown on the agent resource.
 */
@Module({
  imports: [AgentsModule, AgentAuthModule],
  controllers: [TelemetryController],
  providers: [TelemetryService, TelemetryRouting, OtlpMetricsReceiver, OwnMetricsOffer, TelemetryMetrics],
  exports: [TelemetryService, OtlpMetricsReceiver, OwnMetricsOffer],
})
export class TelemetryModule implements OnModuleInit {
  constructor(
    private readonly telemetry: TelemetryService,
    private readonly routing: TelemetryRouting,
    private readonly extensions: AgentStatusExtensions,
  ) {}

  onModuleInit(): void {
    this.extensions.provideConditions(
      (uid, facts) => this.routing.conditionsOf(uid, facts),
      (uid, facts) => this.telemetry.conditionsOf(uid, facts),
    );
  }
}
