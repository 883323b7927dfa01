import { Module } from '@nestjs/common';
import { PackagesModule } from '../packages/packages.module';
import { AgentGroupsModule } from '../agent-groups/agent-groups.module';
import { RemoteConfigsModule } from '../remote-configs/remote-configs.module';
import { AgentsModule } from '../agents/agents.module';
import { AgentConfigController } from './agent-config.controller';
import { AgentPackagesController } from './agent-packages.controller';
import { FleetPackagesController } from './fleet-packages.controller';
import { DesiredStateService } from './desired-state.service';

/** Derives each agent's desired configuration and connection settings from groups and assignments. */
@Module({
  imports: [AgentsModule, AgentGroupsModule, RemoteConfigsModule, PackagesModule],
  controllers: [AgentConfigController, AgentPackagesController, FleetPackagesController],
  providers: [DesiredStateService],
  exports: [DesiredStateService],
})
export class DesiredStateModule {}
