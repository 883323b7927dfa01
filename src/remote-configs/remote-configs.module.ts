import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuditedKinds } from '../audit/audited-kinds';
import { auditedRemoteConfigs } from './remote-configs.audited';
import { MongooseModule } from '@nestjs/mongoose';
import { RemoteConfig, RemoteConfigRevision, RemoteConfigRevisionSchema, RemoteConfigSchema } from './remote-config.schema';
import { RemoteConfigsController } from './remote-configs.controller';
import { MongooseRemoteConfigsRepository, RemoteConfigsRepository } from './remote-configs.repository';
import { RemoteConfigsService } from './remote-configs.service';

/** Immutable, versioned configuration documents: history, diff, rollback. The one owner of their models. */
@Module({
  imports: [
    AuditModule,
    MongooseModule.forFeature([
      { name: RemoteConfig.name, schema: RemoteConfigSchema },
      { name: RemoteConfigRevision.name, schema: RemoteConfigRevisionSchema },
    ]),
  ],
  controllers: [RemoteConfigsController],
  providers: [RemoteConfigsService, { provide: RemoteConfigsRepository, useClass: MongooseRemoteConfigsRepository }],
  exports: [RemoteConfigsService],
})
export class RemoteConfigsModule {
  constructor(audited: AuditedKinds, configs: RemoteConfigsRepository) {
    audited.register('remoteconfigs', auditedRemoteConfigs(configs));
  }
}
