import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentGroup, AgentGroupSchema } from './agent-group.schema';
import { AgentGroupsRepository, MongooseAgentGroupsRepository } from './agent-groups.repository';

/**
 * The one registration of the AgentGroup model, and its repository for other modules. Apart
 * from AgentGroupsModule so that the agents module (which AgentGroupsModule depends on) can read
 * a group's selector for its `group` filter without a cycle.
 */
@Module({
  imports: [MongooseModule.forFeature([{ name: AgentGroup.name, schema: AgentGroupSchema }])],
  providers: [{ provide: AgentGroupsRepository, useClass: MongooseAgentGroupsRepository }],
  exports: [AgentGroupsRepository],
})
export class AgentGroupModelModule {}
