import { Module } from '@nestjs/common';
import { AuditedKinds } from '../audit/audited-kinds';
import { auditedRollouts } from './rollouts.audited';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentGroupsModule } from '../agent-groups/agent-groups.module';
import { AgentsModule } from '../agents/agents.module';
import { AuditModule } from '../audit/audit.module';
import { DesiredStateModule } from '../desired-state/desired-state.module';
import { PackagesModule } from '../packages/packages.module';
import { RemoteConfigsModule } from '../remote-configs/remote-configs.module';
import { RolloutDriver } from './rollout-driver.service';
import { Rollout, RolloutSchema } from './rollout.schema';
import { RolloutsController } from './rollouts.controller';
import { MongooseRolloutsRepository, RolloutsRepository } from './rollouts.repository';
import { RolloutsService } from './rollouts.service';

/** Staged delivery of a group's config or package change, with health gates and automatic rollback. */
@Module({
  imports: [
    MongooseModule.forFeature([{ name: Rollout.name, schema: RolloutSchema }]),
    AgentsModule,
    AgentGroupsModule,
    RemoteConfigsModule,
    DesiredStateModule,
    AuditModule,
    PackagesModule,
  ],
  controllers: [RolloutsController],
  providers: [RolloutsService, RolloutDriver, { provide: RolloutsRepository, useClass: MongooseRolloutsRepository }],
})
export class RolloutsModule {
  constructor(audited: AuditedKinds, rollouts: RolloutsRepository) {
    audited.register('rollouts', auditedRollouts(rollouts));
  }
}
