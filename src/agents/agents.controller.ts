import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { InvalidError, NotFoundError } from '../common/domain-errors';
import { isUidText } from '../opamp-gateway/protocol/instance-uid';
import { toAgentResource } from './agent-resource.mapper';
import { AgentsService } from './agents.service';
import { ListAgentsQuery } from './list-agents.query';

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
const decodeCursor = (token: string) => Buffer.from(token, 'base64url').toString('utf8');

@ApiTags('agents')
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @ApiOperation({ summary: 'List agents, a page at a time (limit + continue)' })
  async list(@Query() q: ListAgentsQuery) {
    const limit = q.limit ?? 100;
    const after = q.continue ? decodeCursor(q.continue) : undefined;
    if (after !== undefined && !isUidText(after)) throw new InvalidError('continue is not a token returned by a previous page');
    const { items, remaining } = await this.agents.list(limit, after);
    const cutoff = this.agents.httpSilenceCutoff();
    return {
      kind: 'AgentList',
      apiVersion: 'v1',
      metadata: {
        continue: remaining > 0 ? encodeCursor(items[items.length - 1]._id) : undefined,
        remainingItemCount: remaining,
      },
      items: items.map((a) => toAgentResource(a, cutoff)),
    };
  }

  @Get(':instanceUid')
  @ApiOperation({ summary: 'One agent by instance uid (UUID text, or a legacy 26-character ULID)' })
  @ApiParam({ name: 'instanceUid', example: '0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90' })
  async get(@Param('instanceUid') instanceUid: string) {
    if (!isUidText(instanceUid)) throw new InvalidError(`instanceUid must be a UUID (8-4-4-4-12 hex) or a 26-character ULID, got "${instanceUid.slice(0, 64)}"`);
    const uid = instanceUid.length === 26 ? instanceUid.toUpperCase() : instanceUid.toLowerCase();
    const agent = await this.agents.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    return toAgentResource(agent, this.agents.httpSilenceCutoff());
  }
}
