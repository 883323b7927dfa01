import { DynamicModule, Logger, Module } from '@nestjs/common';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import type { AppConfig } from '../config/app-config';
import { databaseDeadlines } from './database-deadlines';
import { DATABASE_PROFILE, describeProfile, detectDatabaseProfile } from './database-profile';
import { DatabaseSupervisor } from './database-supervisor';
import { CommandLatencyMetrics } from './command-latency.metrics';
import { DatabaseWork } from './database-work.metrics';

/** Injection token of the embedded database's supervisor (null with an external MONGODB_URI). */
export const DATABASE_SUPERVISOR = Symbol('DATABASE_SUPERVISOR');

/**
 * The connected database as every module sees it: the Mongoose connection with deadlines on
 * every call, its profile (what differs between MongoDB and FerretDB, detected at connect
 * time), the count of the work asked of it, and the supervisor of an embedded database.
 */
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig, mongodbUri: string, supervisor?: DatabaseSupervisor): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [MongooseModule.forRoot(mongodbUri, { ...databaseDeadlines(config), autoIndex: true, monitorCommands: true })],
      providers: [
        { provide: DATABASE_SUPERVISOR, useValue: supervisor ?? null },
        {
          provide: DATABASE_PROFILE,
          inject: [getConnectionToken()],
          useFactory: async (connection: Connection) => {
            await connection.asPromise();
            const profile = await detectDatabaseProfile(connection.db!.admin());
            new Logger('Database').log(describeProfile(profile));
            return profile;
          },
        },
        DatabaseWork,
        CommandLatencyMetrics,
      ],
      exports: [DATABASE_SUPERVISOR, DATABASE_PROFILE, DatabaseWork],
    };
  }
}
