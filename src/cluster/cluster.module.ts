import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Gauge, register } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ClusterRecordsRepository, MongooseClusterRecordsRepository } from './cluster-records.repository';
import { LeaseTerm, LeaseTermSchema, ReplicaRecord, ReplicaRecordSchema } from './cluster.schemas';
import { ChangeFeed } from './change-feed';
import { DesiredStateBridge } from './desired-state-bridge';
import { EventBus, InProcessEventBus } from './event-bus';
import { FleetJobs } from './fleet-jobs.service';
import { LeaseService } from './lease.service';
import { NatsEventBus } from './nats-event-bus';
import { ReplicaRegistry } from './replica-registry.service';
import { ReplicasController } from './replicas.controller';

function busGauge(): Gauge {
  const name = 'opamp_event_bus_connected';
  return (
    (register.getSingleMetric(name) as Gauge | undefined) ??
    new Gauge({ name, help: 'Whether this replica reaches the event bus between replicas (1) or not (0), by kind (in-process, nats)', labelNames: ['kind'] })
  );
}

/** The bus this process uses: NATS when NATS_URL is set, else none (one process). */
function makeBus(config: AppConfig): EventBus {
  const gauge = busGauge();
  if (!config.cluster.natsServers?.length) {
    gauge.set({ kind: 'in-process' }, 1);
    return new InProcessEventBus();
  }
  gauge.set({ kind: 'nats' }, 0);
  const bus = new NatsEventBus(config.cluster.natsServers, config.cluster.subjectPrefix, config.replicaId, (up) => gauge.set({ kind: 'nats' }, up ? 1 : 0));
  bus.start();
  return bus;
}

/**
 * Several replicas acting as one server: the event bus between them, the replica registry, and
 * leases for fleet-wide jobs. Global, so that any module can run a job under a lease or publish
 * on the bus without importing this one.
 */
@Global()
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: LeaseTerm.name, schema: LeaseTermSchema },
      { name: ReplicaRecord.name, schema: ReplicaRecordSchema },
    ]),
  ],
  controllers: [ReplicasController],
  providers: [
    { provide: EventBus, useFactory: makeBus, inject: [APP_CONFIG] },
    { provide: ClusterRecordsRepository, useClass: MongooseClusterRecordsRepository },
    LeaseService,
    ReplicaRegistry,
    DesiredStateBridge,
    FleetJobs,
    ChangeFeed,
  ],
  exports: [EventBus, ChangeFeed, LeaseService, ReplicaRegistry, FleetJobs],
})
export class ClusterModule implements OnApplicationShutdown {
  constructor(
    private readonly bus: EventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
