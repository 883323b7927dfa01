import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvalidError, NotFoundError } from '../common/domain-errors';
import {
  AGENT_SCHEMA,
  ApiEmptyResponse,
  ApiHeadersTooLargeResponse,
  ApiInstanceUidParam,
  ApiJsonResponse,
  ApiProblemResponses,
  ApiProblemResponsesWith,
  ApiSignedIn,
  AVAILABLE_COMPONENTS_SCHEMA,
  listSchema,
} from '../common/openapi';
import { isUidText } from '../protocol/instance-uid';
import { componentCatalogView, toAgentResource } from './agent-resource.mapper';
import { ListAgentsQuery, PatchAgentBody } from './agent-filters.query';
import { agentList } from './agent-list';
import { AgentsService } from './agents.service';
import { AgentStatusExtensions } from './agent-status-extensions';

/** Normalises the uid of a path: canonical UUID text is lower case, a legacy ULID upper case. */
export function agentUidParam(instanceUid: string): string {
  if (!isUidText(instanceUid)) {
    throw new InvalidError(`instanceUid must be a UUID (8-4-4-4-12 hex) or a 26-character ULID, got "${instanceUid.slice(0, 64)}"`, {
      errors: [{ field: 'instanceUid', message: 'not a UUID or ULID' }],
    });
  }
  return instanceUid.length === 26 ? instanceUid.toUpperCase() : instanceUid.toLowerCase();
}

@ApiTags('agents')
@Controller('agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly extensions: AgentStatusExtensions,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List agents matching every filter, a page at a time (limit + continue), in uid order unless sorted',
    description:
      'Items are summaries by default (`view=summary`): effective config files without their bodies (content type and size) and ' +
      'health without the component tree (componentCount, unhealthyComponentCount); `view=full` gives items exactly as `GET /agents/{id}`. ' +
      '`metadata.remainingItemCount` is exact on MongoDB; where counts read every agent (the local FerretDB default) it is counted from a ' +
      'read at most `COUNT_SNAPSHOT_MAX_AGE_MS` old (default 10 s), so it may miss agents added or changed that recently.',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('AgentList', AGENT_SCHEMA))
  @ApiProblemResponsesWith({ 404: 'The agent group named in `group` does not exist' }, 400, 404, 503)
  @ApiHeadersTooLargeResponse()
  async list(@Query() q: ListAgentsQuery) {
    return agentList(this.agents, q, undefined, this.extensions);
  }

  @Get(':instanceUid')
  @ApiOperation({ summary: 'One agent by instance uid (UUID text, or a legacy 26-character ULID)' })
  @ApiInstanceUidParam()
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, AGENT_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async get(@Param('instanceUid') instanceUid: string) {
    const uid = agentUidParam(instanceUid);
    const agent = await this.agents.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    const cutoff = this.agents.httpSilenceCutoff();
    const resource = toAgentResource(agent, cutoff);
    const conditions = await this.extensions.conditionsOf(agent, {
      connected: resource.status.connected,
      healthy: agent.health?.healthy,
      replicaId: agent.connection?.replicaId,
    });
    return { ...resource, status: { ...resource.status, conditions } };
  }

  @Get(':instanceUid/available-components')
  @ApiOperation({ summary: 'The components the agent reported it can run (receivers, processors, exporters, …), by hash' })
  @ApiInstanceUidParam()
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, AVAILABLE_COMPONENTS_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async availableComponents(@Param('instanceUid') instanceUid: string) {
    const uid = agentUidParam(instanceUid);
    const agent = await this.agents.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    if (!agent.availableComponentsHash) return { kind: 'AvailableComponents', apiVersion: 'v1', metadata: { name: uid }, hash: null, components: [] };
    const components = await this.agents.componentCatalog(agent.availableComponentsHash);
    return {
      kind: 'AvailableComponents',
      apiVersion: 'v1',
      metadata: { name: uid },
      hash: agent.availableComponentsHash,
      // Undefined while only the hash is known (the server has asked the agent for the full list).
      components: components ? componentCatalogView(components) : null,
    };
  }

  @Patch(':instanceUid')
  @ApiOperation({ summary: 'Merge-patch the server-side labels of an agent (`null` removes a label)' })
  @ApiInstanceUidParam()
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, AGENT_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async patch(@Param('instanceUid') instanceUid: string, @Body() body: PatchAgentBody) {
    const uid = agentUidParam(instanceUid);
    const extra = Object.keys(body.metadata).filter((k) => k !== 'labels');
    if (extra.length) throw new InvalidError(`only metadata.labels can be patched, not ${extra.map((k) => `metadata.${k}`).join(', ')}`);
    const labels = body.metadata.labels;
    if (labels === undefined || labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
      throw new InvalidError('metadata.labels must be an object of label values (null removes one)', {
        errors: [{ field: 'metadata.labels', message: 'must be an object' }],
      });
    }
    const agent = await this.agents.patchLabels(uid, labels);
    return toAgentResource(agent, this.agents.httpSilenceCutoff());
  }

  @Delete(':instanceUid')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a disconnected agent (409 while it is connected)' })
  @ApiInstanceUidParam()
  @ApiSignedIn('operator')
  @ApiEmptyResponse(204, 'Deleted')
  @ApiProblemResponses(400, 404, 409, 503)
  async delete(@Param('instanceUid') instanceUid: string): Promise<void> {
    await this.agents.delete(agentUidParam(instanceUid));
  }
}
