import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { agentUidParam } from '../agents/agents.controller';
import { connectedAt } from '../agents/agent-liveness';
import { AgentsService } from '../agents/agents.service';
import { NotFoundError } from '../common/domain-errors';
import { ApiInstanceUidParam, ApiJsonResponse, ApiProblemResponses, ApiSignedIn, resourceSchema } from '../common/openapi';
import { TelemetryRouting } from './telemetry-routing';
import { TelemetryService } from './telemetry.service';

const num: SchemaObject = { type: 'number', nullable: true };

export const AGENT_TELEMETRY_SCHEMA = resourceSchema('AgentTelemetry', {
  status: {
    type: 'object',
    required: ['held', 'conditions'],
    properties: {
      held: {
        type: 'boolean',
        description: "Whether a window of the agent's metrics is held: on the replica holding its OpAMP connection, which any replica asks",
      },
      heldBy: { type: 'string', description: 'The replica holding the window' },
      lastReceivedAt: { type: 'string', format: 'date-time' },
      lastPointAt: { type: 'string', format: 'date-time', description: "Time of the newest data point (the agent's clock)" },
      reports: { type: 'integer' },
      ignoredPoints: { type: 'integer', description: 'Points not kept: out of order, beyond the series bound' },
      current: {
        type: 'object',
        description: "Rates over the agent's latest report interval (items per second) and latest gauge values",
        properties: {
          acceptedPerSecond: num,
          refusedPerSecond: num,
          sentPerSecond: num,
          sendFailedPerSecond: num,
          exportFailureRatio: num,
          queueSize: num,
          queueCapacity: num,
          cpuSecondsPerSecond: num,
          rssBytes: num,
          uptimeSeconds: num,
        },
      },
      window: {
        type: 'object',
        description: 'The last hour in 15 s buckets, oldest first; counters as items per second, gauges as values; null: nothing reported',
        properties: {
          start: { type: 'string', format: 'date-time' },
          stepSeconds: { type: 'integer' },
          buckets: { type: 'integer' },
          series: {
            type: 'array',
            items: {
              type: 'object',
              required: ['family', 'kind', 'points'],
              properties: {
                family: { type: 'string' },
                kind: { type: 'string', enum: ['counter', 'gauge'] },
                component: { type: 'string' },
                signal: { type: 'string' },
                current: num,
                points: { type: 'array', items: num },
              },
            },
          },
        },
      },
      conditions: { type: 'array', items: { type: 'object', additionalProperties: true } },
    },
  },
});

@ApiTags('agents')
@Controller('agents')
export class TelemetryController {
  constructor(
    private readonly agents: AgentsService,
    private readonly telemetry: TelemetryService,
    private readonly routing: TelemetryRouting,
  ) {}

  @Get(':instanceUid/telemetry')
  @ApiOperation({
    summary: "The agent's own metrics: current rates and the last hour in 15 s buckets, with the conditions derived from them",
    description:
      "Received over OTLP/HTTP at POST /v1/metrics on the OpAMP port (any replica: metrics are forwarded to the replica holding the agent's OpAMP connection, whose memory keeps the window; `status.heldBy`). Readable from any replica; 503 with Retry-After when the window's replica cannot be asked because the event bus is down.",
  })
  @ApiInstanceUidParam()
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, AGENT_TELEMETRY_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async get(@Param('instanceUid') instanceUid: string) {
    const uid = agentUidParam(instanceUid);
    const agent = await this.agents.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    const facts = { connected: connectedAt(agent.connection, this.agents.httpSilenceCutoff()), healthy: agent.health?.healthy };
    const holder = agent.connection?.replicaId;
    // The window is on the replica holding the agent's connection: another replica asks it (and
    // shows what it kept itself only when the holder is gone).
    const elsewhere = facts.connected && holder && holder !== this.routing.self ? holder : undefined;
    const remote = elsewhere ? await this.routing.read(elsewhere, uid, facts) : undefined;
    const local = remote ? undefined : this.telemetry.telemetryOf(uid, facts);
    const status =
      remote && 'window' in remote
        ? { held: true, heldBy: elsewhere, ...remote }
        : local
          ? { held: true, heldBy: this.routing.self, ...local }
          : { held: false, conditions: remote?.conditions ?? this.telemetry.conditionsOf(uid, facts) };
    return { kind: 'AgentTelemetry', apiVersion: 'v1', metadata: { name: uid }, status };
  }
}
