import { Global, Logger, Module } from '@nestjs/common';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { DATABASE_PROFILE, describeProfile, detectDatabaseProfile } from './database-profile';
import { DatabaseWork } from './database-work.metrics';

/**
 * The connected database as every module sees it: its profile (what differs between MongoDB
 * and FerretDB, detected at connect time) and the count of the work asked of it.
 */
@Global()
@Module({
  providers: [
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
  ],
  exports: [DATABASE_PROFILE, DatabaseWork],
})
export class DatabaseModule {}
