import { Global, Module } from '@nestjs/common';
import { DesiredStateEvents } from './desired-state-events';

/** In-process domain events, available to every module without importing this one. */
@Global()
@Module({
  providers: [DesiredStateEvents],
  exports: [DesiredStateEvents],
})
export class EventsModule {}
