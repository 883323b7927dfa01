import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Agent, AgentSchema } from '../agents/agent.schema';
import { AgentsModule } from '../agents/agents.module';
import { RemoteConfigsModule } from '../remote-configs/remote-configs.module';
import { AgentGroup, AgentGroupSchema } from './agent-group.schema';
import { AgentGroupsController } from './agent-groups.controller';
import { AgentGroupsService } from './agent-groups.service';

/** Groups of agents chosen by label selectors; what they are assigned; their statistics. */
@Module({
  imports: [
    AgentsModule,
    RemoteConfigsModule,
    // The agents collection is read (counted, listed by selector) here; the Agent model is the agents module's.
    MongooseModule.forFeature([
      { name: AgentGroup.name, schema: AgentGroupSchema },
      { name: Agent.name, schema: AgentSchema },
    ]),
  ],
  controllers: [AgentGroupsController],
  providers: [AgentGroupsService],
  exports: [AgentGroupsService],
})
export class AgentGroupsModule {}
