import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { MongooseModule } from '@nestjs/mongoose';
import { AuditController } from './audit.controller';
import { AuditEvent, AuditEventSchema } from './audit-event.schema';
import { AuditInterceptor } from './audit.interceptor';
import { AuditEventsRepository, MongooseAuditEventsRepository } from './audit-events.repository';
import { AuditService } from './audit.service';
import { AuditedKinds } from './audited-kinds';

/** The audit log: a global interceptor records every change through the API; the owning modules register how their kinds are read (AuditedKinds). */
@Module({
  imports: [MongooseModule.forFeature([{ name: AuditEvent.name, schema: AuditEventSchema }])],
  controllers: [AuditController],
  providers: [
    AuditService,
    AuditedKinds,
    { provide: AuditEventsRepository, useClass: MongooseAuditEventsRepository },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  exports: [AuditService, AuditedKinds],
})
export class AuditModule {}
