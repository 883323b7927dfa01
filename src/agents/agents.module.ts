import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentGroup, AgentGroupSchema } from '../agent-groups/agent-group.schema';
import { Agent, AgentSchema, ComponentCatalog, ComponentCatalogSchema } from './agent.schema';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';

/** The Agent aggregate: inventory, status ingest, REST controller. */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Agent.name, schema: AgentSchema },
      { name: ComponentCatalog.name, schema: ComponentCatalogSchema },
      // Read-only here: the `group` filter of the agent list reads a group's parsed selector.
      { name: AgentGroup.name, schema: AgentGroupSchema },
    ]),
  ],
  controllers: [AgentsController],
  providers: [AgentsService],
  exports: [AgentsService],
})
export class AgentsModule {}
