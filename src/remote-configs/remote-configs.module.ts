import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { RemoteConfig, RemoteConfigRevision, RemoteConfigRevisionSchema, RemoteConfigSchema } from './remote-config.schema';
import { RemoteConfigsController } from './remote-configs.controller';
import { RemoteConfigsService } from './remote-configs.service';

/** Immutable, versioned configuration documents: history, diff, rollback. */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: RemoteConfig.name, schema: RemoteConfigSchema },
      { name: RemoteConfigRevision.name, schema: RemoteConfigRevisionSchema },
    ]),
  ],
  controllers: [RemoteConfigsController],
  providers: [RemoteConfigsService],
  exports: [RemoteConfigsService],
})
export class RemoteConfigsModule {}
