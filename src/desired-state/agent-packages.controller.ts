import { Body, Controller, Get, Optional, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { checkPackageRefs } from '../agent-groups/package-refs';
import { agentUidParam } from '../agents/agents.controller';
import { toAgentResource } from '../agents/agent-resource.mapper';
import { AgentsService } from '../agents/agents.service';
import { InvalidError, NotFoundError } from '../common/domain-errors';
import { AGENT_SCHEMA, ApiInstanceUidParam, ApiJsonResponse, ApiProblemResponses, ApiSignedIn, DESIRED_PACKAGES_SCHEMA } from '../common/openapi';
import { PackageCatalogue } from '../packages/package-catalogue';
import { UpdateAgentPackagesDto } from './agent-packages.dto';
import { DesiredStateService } from './desired-state.service';
import { planPackages } from './package-policy';

/** An agent's packages: its own assignment, and what it should run by the policy. */
@ApiTags('agents')
@Controller('agents')
export class AgentPackagesController {
  constructor(
    private readonly agents: AgentsService,
    private readonly desired: DesiredStateService,
    @Optional() private readonly catalogue?: PackageCatalogue,
  ) {}

  @Put(':instanceUid/packages')
  @ApiOperation({
    summary: "Set (or clear, with an empty list) this agent's own packages, which override its group's packages of the same name",
    description: 'Refused with 400, nothing stored: a package named twice, a version that is not in the catalogue.',
  })
  @ApiInstanceUidParam()
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, AGENT_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async update(@Param('instanceUid') instanceUid: string, @Body() body: UpdateAgentPackagesDto) {
    const uid = agentUidParam(instanceUid);
    if (!(await this.agents.findOne(uid))) throw new NotFoundError(`agent ${uid} not found`);
    const { packages, problems } = await checkPackageRefs(body.packages, this.catalogue, 'packages');
    if (problems.length) throw new InvalidError(`Invalid agent packages: ${problems.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors: problems });
    const agent = await this.agents.assignPackages(uid, packages.length ? { packages, assignedAt: new Date() } : undefined);
    return toAgentResource(agent, this.agents.httpSilenceCutoff());
  }

  @Get(':instanceUid/desired-packages')
  @ApiOperation({
    summary: 'The packages this agent should run (from its group and its own), and what the forward-only policy offers of each given what it runs',
  })
  @ApiInstanceUidParam()
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, DESIRED_PACKAGES_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async desiredPackages(@Param('instanceUid') instanceUid: string) {
    const uid = agentUidParam(instanceUid);
    const agent = await this.agents.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    const desired = await this.desired.packagesFor(agent);
    const acceptsPackages = ((agent.capabilities ?? 0) & 0x8) !== 0;
    return {
      kind: 'DesiredPackages',
      apiVersion: 'v1',
      metadata: { name: uid },
      acceptsPackages,
      packages: planPackages(desired, agent.packageStatuses?.packages).map((p) => ({
        name: p.name,
        desiredVersion: p.desired.version,
        origin: p.desired.origin,
        ...(p.desired.force ? { force: true } : {}),
        offeredVersion: p.version,
        installedVersion: p.installedVersion,
        ...(p.downgrade ? { downgrade: true } : {}),
        ...(p.refusal ? { refused: p.refusal } : {}),
      })),
      offer: agent.packageOffer ?? undefined,
    };
  }
}
