import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentGroup, AgentGroupSchema } from './agent-group.schema';

/**
 * The one registration of the AgentGroup model. The agents module needs it read-only (the
 * `group` filter of the agent list reads a group's parsed selector) and cannot import
 * AgentGroupsModule, which imports it; so both import this instead of registering the model again.
 */
@Module({
  imports: [MongooseModule.forFeature([{ name: AgentGroup.name, schema: AgentGroupSchema }])],
  exports: [MongooseModule],
})
export class AgentGroupModelModule {}
