import { Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { ContentStore } from '../database/content-store/content-store';
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
export class RemoteConfigsModule implements OnApplicationBootstrap {
  private readonly logger = new Logger(RemoteConfigsModule.name);

  constructor(
    audited: AuditedKinds,
    private readonly configs: RemoteConfigsRepository,
    content: ContentStore,
  ) {
    audited.register('remoteconfigs', auditedRemoteConfigs(configs));
    // Revision bodies are kept by the content GC while a revision (or a head) refers to them.
    content.referencedBy('remote-configs', () => configs.contentRefs());
  }

  /** Revisions stored with their bodies inline (before the content store) have them moved at start. */
  async onApplicationBootstrap(): Promise<void> {
    const moved = await this.configs.moveInlineBodies();
    if (moved) this.logger.log(`Moved the bodies of ${moved} remote config revisions to the content store`);
  }
}
