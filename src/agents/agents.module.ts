import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuditedKinds } from '../audit/audited-kinds';
import { auditedAgents } from './agents.audited';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentGroupModelModule } from '../agent-groups/agent-group-model.module';
import { Agent, AgentSchema, ComponentCatalog, ComponentCatalogSchema, PackageTerm, PackageTermSchema } from './agent.schema';
import { AgentsController } from './agents.controller';
import { AgentsRepository, MongooseAgentsRepository } from './agents.repository';
import { AgentFacets } from './agent-facets';
import { AgentFacetsController } from './agent-facets.controller';
import { AgentsService } from './agents.service';
import { FleetStateMetrics } from './fleet-state.metrics';
import { AgentStatusExtensions } from './agent-status-extensions';
import { ContentStore } from '../database/content-store/content-store';

/** The Agent aggregate: inventory, status ingest, REST controller. The one owner of the Agent, ComponentCatalog and PackageTerm models. */
@Module({
  imports: [
    AuditModule,
    MongooseModule.forFeature([
      { name: Agent.name, schema: AgentSchema },
      { name: ComponentCatalog.name, schema: ComponentCatalogSchema },
      { name: PackageTerm.name, schema: PackageTermSchema },
    ]),
    // The `group` filter of the agent list asks the groups' repository for a group's selector.
    AgentGroupModelModule,
  ],
  controllers: [AgentsController, AgentFacetsController],
  providers: [AgentsService, AgentFacets, FleetStateMetrics, AgentStatusExtensions, { provide: AgentsRepository, useClass: MongooseAgentsRepository }],
  exports: [AgentsService, AgentsRepository, AgentStatusExtensions],
})
export class AgentsModule {
  constructor(audited: AuditedKinds, agents: AgentsRepository, content: ContentStore) {
    audited.register('agents', auditedAgents(agents));
    // Effective config bodies and health trees agents refer to are kept by the content GC.
    content.referencedBy('agents', () => agents.contentRefs());
  }
}
