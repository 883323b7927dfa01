import { Module } from '@nestjs/common';
import { WatchController } from './watch.controller';
import { WatchStreams } from './watch-streams.service';

/** The change stream of the REST API (GET /api/v1/watch), fed by the cluster's ChangeFeed. */
@Module({ controllers: [WatchController], providers: [WatchStreams] })
export class WatchModule {}
