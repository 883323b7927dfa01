import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { RemoteConfigsModule } from '../remote-configs/remote-configs.module';
import { AgentGroupModelModule } from './agent-group-model.module';
import { AgentGroupsController } from './agent-groups.controller';
import { AgentGroupsService } from './agent-groups.service';

/** Groups of agents chosen by label selectors; what they are assigned; their statistics. */
@Module({
  // The agents collection is read (counted, listed by selector) here through the Agent model AgentsModule exports.
  imports: [AgentsModule, RemoteConfigsModule, AgentGroupModelModule],
  controllers: [AgentGroupsController],
  providers: [AgentGroupsService],
  exports: [AgentGroupsService],
})
export class AgentGroupsModule {}
