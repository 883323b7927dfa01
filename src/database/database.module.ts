import { DynamicModule, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import type { AppConfig } from '../config/app-config';
import { databaseDeadlines } from './database-deadlines';
import { DatabaseSupervisor } from './database-supervisor';

/** Injection token of the embedded database's supervisor (null with an external MONGODB_URI). */
export const DATABASE_SUPERVISOR = Symbol('DATABASE_SUPERVISOR');

/** The Mongoose connection, with deadlines on every call, and the supervisor of an embedded database. */
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig, mongodbUri: string, supervisor?: DatabaseSupervisor): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [MongooseModule.forRoot(mongodbUri, { ...databaseDeadlines(config), autoIndex: true, monitorCommands: true })],
      providers: [{ provide: DATABASE_SUPERVISOR, useValue: supervisor ?? null }],
      exports: [DATABASE_SUPERVISOR],
    };
  }
}
