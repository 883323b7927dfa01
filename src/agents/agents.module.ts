import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentGroupModelModule } from '../agent-groups/agent-group-model.module';
import { Agent, AgentSchema, ComponentCatalog, ComponentCatalogSchema } from './agent.schema';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';
import { FleetStateMetrics } from './fleet-state.metrics';
import { AgentStatusExtensions } from './agent-status-extensions';

/** The Agent aggregate: inventory, status ingest, REST controller. */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Agent.name, schema: AgentSchema },
      { name: ComponentCatalog.name, schema: ComponentCatalogSchema },
    ]),
    // Read-only here: the `group` filter of the agent list reads a group's parsed selector.
    AgentGroupModelModule,
  ],
  controllers: [AgentsController],
  providers: [AgentsService, FleetStateMetrics, AgentStatusExtensions],
  // The Agent model goes with the module: the agent-groups module counts and lists agents by selector.
  exports: [AgentsService, MongooseModule, AgentStatusExtensions],
})
export class AgentsModule {}
