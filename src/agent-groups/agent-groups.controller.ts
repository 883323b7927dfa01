import { AgentStatusExtensions } from '../agents/agent-status-extensions';
import { Body, Controller, Delete, Get, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { agentList } from '../agents/agent-list';
import { AgentsService } from '../agents/agents.service';
import type { Agent } from '../agents/agent.schema';
import { InvalidError, NotFoundError } from '../common/domain-errors';
import { governedQuery, governingGroup, hasOwnConfig } from '../desired-state/config-precedence';
import { decodeStringCursor, DEFAULT_PAGE_SIZE, ResourcePageQuery, resourceList } from '../common/resource-list';
import { AgentGroup } from './agent-group.schema';
import { AgentGroupManifestDto, AgentGroupNameParam } from './agent-group-manifest.dto';
import { configRefsToApi, connectionSettingsFromStored, toAgentGroupResource } from './agent-group.mapper';
import { rolloutPolicyToApi } from '../rollouts/rollout-policy';
import { AgentGroupDefinition, AgentGroupsService } from './agent-groups.service';
import { GroupAgentsQuery, IncludeDeletedGroupQuery } from './agent-group-queries.dto';
import { AGENT_GROUP_SCHEMA, AGENT_SCHEMA, ApiHeadersTooLargeResponse, ApiJsonResponse, ApiProblemResponses, ApiSignedIn, listSchema } from '../common/openapi';

/** Agent groups: `/api/v1/agentgroups`. */
@ApiTags('agentgroups')
@Controller('agentgroups')
export class AgentGroupsController {
  constructor(
    private readonly groups: AgentGroupsService,
    private readonly agents: AgentsService,
    private readonly extensions: AgentStatusExtensions,
  ) {}

  private async resource(g: AgentGroup, active?: AgentGroupDefinition[]) {
    const r = toAgentGroupResource(g, await this.groups.status(g, active));
    // The rollout policy in the form it was written (stages as the Rollout resource shows them).
    const spec = g.rolloutPolicy ? { ...r.spec, rolloutPolicy: rolloutPolicyToApi(g.rolloutPolicy) } : r.spec;
    const status = {
      ...r.status,
      ...(g.deliveredConfigs ? { deliveredConfigs: configRefsToApi(g.deliveredConfigs) } : {}),
      ...(g.deliveredPackages
        ? { deliveredPackages: g.deliveredPackages.map((p) => ({ name: p.name, version: p.version, ...(p.force ? { force: true } : {}) })) }
        : {}),
      ...(g.deliveredConnectionSettings ? { deliveredConnectionSettings: connectionSettingsFromStored(g.deliveredConnectionSettings) ?? {} } : {}),
    };
    return { ...r, spec, status };
  }

  @Post()
  @ApiOperation({ summary: 'Create an agent group' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(201, AGENT_GROUP_SCHEMA, 'Created')
  @ApiProblemResponses(400, 409, 503)
  async create(@Body() m: AgentGroupManifestDto) {
    return this.resource(await this.groups.create(m));
  }

  @Get()
  @ApiOperation({ summary: 'List agent groups in name order, a page at a time (limit + continue), with their status counts' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('AgentGroupList', AGENT_GROUP_SCHEMA))
  @ApiProblemResponses(400, 503)
  async list(@Query() q: ResourcePageQuery) {
    const { items, remaining } = await this.groups.list(q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue), q.includeDeleted);
    const active = await this.groups.listActive();
    return resourceList('AgentGroupList', await Promise.all(items.map((g) => this.resource(g, active))), remaining, items[items.length - 1]?._id);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One agent group with its status counts' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, AGENT_GROUP_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async get(@Param() p: AgentGroupNameParam, @Query() q: IncludeDeletedGroupQuery) {
    return this.resource(await this.groups.get(p.name, q.includeDeleted));
  }

  @Put(':name')
  @ApiOperation({ summary: 'Replace an agent group; metadata.resourceVersion must be the current one (409 otherwise)' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, AGENT_GROUP_SCHEMA)
  @ApiProblemResponses(400, 404, 409, 503)
  async replace(@Param() p: AgentGroupNameParam, @Body() m: AgentGroupManifestDto) {
    if (m.metadata.name !== p.name) {
      throw new InvalidError(`metadata.name "${m.metadata.name}" does not match the name in the path, "${p.name}"`, {
        errors: [{ field: 'metadata.name', message: 'must match the name in the path' }],
      });
    }
    if (m.metadata.resourceVersion === undefined) {
      throw new InvalidError('metadata.resourceVersion is required to replace an agent group', {
        errors: [{ field: 'metadata.resourceVersion', message: 'is required' }],
      });
    }
    return this.resource(await this.groups.replace(p.name, m.metadata.resourceVersion, m));
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Soft-delete an agent group: it stops selecting agents' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, AGENT_GROUP_SCHEMA, 'Deleted; the resource as it was')
  @ApiProblemResponses(400, 404, 503)
  async delete(@Param() p: AgentGroupNameParam) {
    return this.resource(await this.groups.delete(p.name));
  }

  @Get(':name/agents')
  @ApiOperation({
    summary:
      'The agents the group selects, a page at a time: the agent list (same filters, `view`, sort and cursors), each with `status.governedBy` (the group whose config it gets, or its own config); `governed` keeps only the agents the group governs (true) or only those it matches but does not govern (false)',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('AgentList', AGENT_SCHEMA))
  @ApiProblemResponses(400, 404, 503)
  @ApiHeadersTooLargeResponse()
  async listAgents(@Param() p: AgentGroupNameParam, @Query() q: GroupAgentsQuery) {
    const { governed, ...filters } = q;
    const active = await this.groups.listActive();
    const rule = governedQuery(active, p.name);
    if (!rule) throw new NotFoundError(`agent group ${p.name} not found`);
    // The same rule as the group's status counts (governedQuery), so a page and the counts agree.
    const extra = governed === true ? rule.extra : governed === false ? { $nor: [rule.extra] } : {};
    const governedBy = (a: Agent) => {
      if (hasOwnConfig(a.assignedConfig)) return { kind: 'agent' as const };
      const g = governingGroup(active, a);
      return g ? { kind: 'group' as const, group: g.name } : undefined;
    };
    return agentList(this.agents, filters, { requirements: rule.requirements, extra, status: (a) => ({ governedBy: governedBy(a) }) }, this.extensions);
  }
}
