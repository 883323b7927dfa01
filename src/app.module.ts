import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { loggerParams } from './logging/logger.options';
import { VersionModule } from './version/version.module';
import { AgentsModule } from './agents/agents.module';
import { OpampGatewayModule } from './opamp-gateway/opamp-gateway.module';
import { MetricsModule } from './metrics/metrics.module';
import { EventsModule } from './common/events.module';
import { RemoteConfigsModule } from './remote-configs/remote-configs.module';
import { AgentGroupsModule } from './agent-groups/agent-groups.module';
import { AuthModule } from './auth/auth.module';
import { AuditModule } from './audit/audit.module';
import { ClusterModule } from './cluster/cluster.module';
import { RolloutsModule } from './rollouts/rollouts.module';
import { DatabaseModule } from './database/database.module';
import { ContentStoreModule } from './database/content-store/content-store.module';
import { WatchModule } from './watch/watch.module';
import { PackagesModule } from './packages/packages.module';
import type { DatabaseSupervisor } from './database/database-supervisor';

/** The whole server: configuration and database first, then the feature modules. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, mongodbUri: string, supervisor?: DatabaseSupervisor): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerParams(config)),
        DatabaseModule.forRoot(config, mongodbUri, supervisor),
        ContentStoreModule,
        HealthModule,
        VersionModule,
        AgentsModule,
        OpampGatewayModule,
        MetricsModule.forRoot(config.metricsPort === undefined),
        EventsModule,
        RemoteConfigsModule,
        AgentGroupsModule,
        AuditModule,
        AuthModule,
        ClusterModule,
        RolloutsModule,
        WatchModule,
        PackagesModule,
      ],
    };
  }
}
