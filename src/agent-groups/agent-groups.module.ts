import { Module } from '@nestjs/common';
import { PackagesModule } from '../packages/packages.module';
import { AgentsModule } from '../agents/agents.module';
import { RemoteConfigsModule } from '../remote-configs/remote-configs.module';
import { AgentGroupModelModule } from './agent-group-model.module';
import { AgentGroupsController } from './agent-groups.controller';
import { AgentGroupsService } from './agent-groups.service';

/** Groups of agents chosen by label selectors; what they are assigned; their statistics. */
@Module({
  imports: [
    AgentsModule,
    // Package references are checked against the catalogue; its versions count a group's agents.
    PackagesModule,
    RemoteConfigsModule,
    // Agents are counted and listed by selector through the agents module's repository.
    AgentGroupModelModule,
  ],
  controllers: [AgentGroupsController],
  providers: [AgentGroupsService],
  exports: [AgentGroupsService, AgentGroupModelModule],
})
export class AgentGroupsModule {}
