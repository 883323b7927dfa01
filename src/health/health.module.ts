import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { DatabaseHealthIndicator } from './database.health';
import { EventBusHealthIndicator } from './event-bus.health';
import { ListenersHealthIndicator } from './listeners.health';

@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ListenersHealthIndicator, DatabaseHealthIndicator, EventBusHealthIndicator],
  exports: [ListenersHealthIndicator],
})
export class HealthModule {}
