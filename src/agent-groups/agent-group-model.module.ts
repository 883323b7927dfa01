import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuditedKinds } from '../audit/audited-kinds';
import { auditedAgentGroups } from './agent-groups.audited';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentGroup, AgentGroupSchema } from './agent-group.schema';
import { AgentGroupsRepository, MongooseAgentGroupsRepository } from './agent-groups.repository';

/**
 * The one registration of the AgentGroup model, and its repository for other modules. Apart
 * from AgentGroupsModule so that the agents module (which AgentGroupsModule depends on) can read
 * a group's selector for its `group` filter without a cycle.
 */
@Module({
  imports: [AuditModule, MongooseModule.forFeature([{ name: AgentGroup.name, schema: AgentGroupSchema }])],
  providers: [{ provide: AgentGroupsRepository, useClass: MongooseAgentGroupsRepository }],
  exports: [AgentGroupsRepository],
})
export class AgentGroupModelModule {
  constructor(audited: AuditedKinds, groups: AgentGroupsRepository) {
    audited.register('agentgroups', auditedAgentGroups(groups));
  }
}
