import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { ListenersHealthIndicator } from './listeners.health';

@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ListenersHealthIndicator],
  exports: [ListenersHealthIndicator],
})
export class HealthModule {}
