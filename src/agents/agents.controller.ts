import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
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
import { AgentFacets, MAX_FACET_VALUES } from './agent-facets';
import { MAX_SELECTOR_KEY_LENGTH, SELECTOR_KEY_PATTERN } from '../common/selectors/label-selector';

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
    private readonly facets: AgentFacets,
  ) {}

  @Get('keys')
  @ApiOperation({
    summary: 'The label and attribute keys agents have (for completing selectors)',
    description: 'From the selector terms of the agents, read again at most every 10 s: a key new in the fleet may take that long to appear.',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, {
    type: 'object',
    required: ['keys'],
    properties: {
      keys: { type: 'array', items: { type: 'string' }, description: 'Sorted; server-side labels and identifying and non-identifying attributes' },
    },
  })
  @ApiProblemResponses(503)
  async keys() {
    return { keys: await this.facets.keys() };
  }

  @Get('facets')
  @ApiOperation({
    summary: 'How many agents have each value of one key (e.g. service.version, os.type), most first',
    description: `Each count is an indexed count (kept 10 s). At most ${MAX_FACET_VALUES} values are counted; \`truncated\` says a key has more.`,
  })
  @ApiQuery({
    name: 'key',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: MAX_SELECTOR_KEY_LENGTH, pattern: SELECTOR_KEY_PATTERN.source },
    example: 'service.version',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, {
    type: 'object',
    required: ['key', 'values', 'truncated'],
    properties: {
      key: { type: 'string' },
      values: {
        type: 'array',
        items: { type: 'object', required: ['value', 'count'], properties: { value: { type: 'string' }, count: { type: 'integer', minimum: 1 } } },
      },
      truncated: { type: 'boolean' },
    },
  })
  @ApiProblemResponses(400, 503)
  facet(@Query('key') key: unknown) {
    if (typeof key !== 'string' || !key)
      throw new InvalidError('key is required (a label or attribute key such as service.version)', { errors: [{ field: 'key', message: 'required' }] });
    return this.facets.facet(key);
  }

  @Get()
  @ApiOperation({
    summary: 'List agents matching every filter, a page at a time (limit + continue), in uid order unless sorted',
    description:
      'Items are summaries by default (`view=summary`): effective config files without their bodies (content type and size) and ' +
      'health without the component tree (componentCount, unhealthyComponentCount); `view=full` gives items exactly as `GET /agents/{id}`. ' +
      '`metadata.remainingItemCount` is exact.',
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
