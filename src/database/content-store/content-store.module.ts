import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { DATABASE_PROFILE, DatabaseProfile } from '../database-profile';
import { ContentBody, ContentBodySchema } from './content-body.schema';
import { ContentBodiesRepository, MongooseContentBodiesRepository } from './content-bodies.repository';
import { ContentGc } from './content-gc';
import { ContentStore } from './content-store';

/**
 * The content-addressed store of large shared bodies (`content_bodies`) and its GC. Global: the
 * owners of referring documents (agents, remote configs) inject the store and register where
 * their references are.
 */
@Global()
@Module({
  imports: [MongooseModule.forFeature([{ name: ContentBody.name, schema: ContentBodySchema }])],
  providers: [
    { provide: ContentBodiesRepository, useClass: MongooseContentBodiesRepository },
    {
      provide: ContentStore,
      inject: [ContentBodiesRepository, DATABASE_PROFILE, APP_CONFIG],
      useFactory: (repo: ContentBodiesRepository, profile: DatabaseProfile, config: AppConfig) =>
        new ContentStore(repo, { maxBatch: profile.maxBulkStatements, graceMs: config.database.contentGcGraceSeconds * 1000 }),
    },
    ContentGc,
  ],
  exports: [ContentStore],
})
export class ContentStoreModule {}
