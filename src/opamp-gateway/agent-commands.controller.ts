import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { agentUidParam } from '../agents/agents.controller';
import { AgentsService } from '../agents/agents.service';
import { ConflictError, NotFoundError } from '../common/domain-errors';
import { AgentCapabilities } from '../gen/opamp/v1/opamp_pb';
import { AgentCommandRouter } from './agent-command-router';
import { ApiInstanceUidParam, ApiJsonResponse, ApiProblemResponses, ApiSignedIn, COMMAND_ACCEPTED_SCHEMA } from '../common/openapi';

export class CustomMessageDto {
  @ApiProperty({ description: 'A custom capability the agent declared (reverse FQDN, e.g. io.opentelemetry.pprof/v1)' })
  @IsString()
  @MaxLength(255)
  capability: string;

  @ApiProperty({ description: 'Message type within the capability' })
  @IsString()
  @MaxLength(255)
  type: string;

  @ApiPropertyOptional({ description: 'Payload', default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(1024 * 1024)
  data?: string;

  @ApiPropertyOptional({ enum: ['utf8', 'base64'], default: 'utf8', description: 'How `data` is encoded' })
  @IsOptional()
  @IsIn(['utf8', 'base64'])
  encoding?: 'utf8' | 'base64';
}

/** Commands and custom messages: things sent to one agent now, not derived desired state. */
@ApiTags('agents')
@Controller('agents')
export class AgentCommandsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly router: AgentCommandRouter,
  ) {}

  private async connectedAgent(instanceUid: string) {
    const uid = agentUidParam(instanceUid);
    const agent = await this.agents.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    if (!this.agents.liveness.isConnected(agent.connection)) throw new ConflictError(`agent ${uid} is not connected`);
    return { uid, agent };
  }

  @Post(':instanceUid/restart')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a Restart command (409 unless the agent accepts restart commands and is connected)' })
  @ApiInstanceUidParam()
  @ApiSignedIn('operator')
  @ApiJsonResponse(202, COMMAND_ACCEPTED_SCHEMA, 'Accepted for delivery')
  @ApiProblemResponses(400, 404, 409, 503)
  async restart(@Param('instanceUid') instanceUid: string) {
    const { uid, agent } = await this.connectedAgent(instanceUid);
    if (((agent.capabilities ?? 0) & AgentCapabilities.AgentCapabilities_AcceptsRestartCommand) === 0) {
      throw new ConflictError(`agent ${uid} does not accept restart commands`);
    }
    const { replica } = await this.router.deliver(uid, agent.connection.replicaId, { kind: 'restart' });
    return { accepted: true, delivery: agent.connection.transport === 'http' ? 'next-poll' : 'sent', replica };
  }

  @Post(':instanceUid/custom-messages')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a custom message for a custom capability the agent declared' })
  @ApiInstanceUidParam()
  @ApiSignedIn('operator')
  @ApiJsonResponse(202, COMMAND_ACCEPTED_SCHEMA, 'Accepted for delivery')
  @ApiProblemResponses(400, 404, 409, 503)
  async customMessage(@Param('instanceUid') instanceUid: string, @Body() body: CustomMessageDto) {
    const { uid, agent } = await this.connectedAgent(instanceUid);
    if (!(agent.customCapabilities ?? []).includes(body.capability)) {
      throw new ConflictError(`agent ${uid} did not declare the custom capability ${body.capability}`);
    }
    const dataBase64 = Buffer.from(body.data ?? '', body.encoding === 'base64' ? 'base64' : 'utf8').toString('base64');
    const { replica } = await this.router.deliver(uid, agent.connection.replicaId, {
      kind: 'custom-message',
      capability: body.capability,
      type: body.type,
      dataBase64,
    });
    return { accepted: true, delivery: agent.connection.transport === 'http' ? 'next-poll' : 'sent', replica };
  }
}
