import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonResponse, ApiProblemResponses, ApiSignedIn, listSchema, REPLICA_SCHEMA } from '../common/openapi';
import { ReplicaRegistry } from './replica-registry.service';

/** `GET /replicas`: the server replicas sharing this database, as each last announced itself. */
@ApiTags('replicas')
@Controller('replicas')
export class ReplicasController {
  constructor(private readonly registry: ReplicaRegistry) {}

  @Get()
  @ApiOperation({
    summary: 'The server replicas sharing this database: ports, version, agents served, event bus state, leases held, drain state, last heartbeat',
    description:
      'A replica silent for REPLICA_TIMEOUT_SECONDS shows `status.gone: true` until the holder of the replica-gc lease removes it. `status.rebalance` says whether it is asking agents to reconnect elsewhere (its surplus over the fair share, or its shutdown).',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('ReplicaList', REPLICA_SCHEMA))
  @ApiProblemResponses(503)
  async list() {
    const items = await this.registry.list();
    return {
      kind: 'ReplicaList',
      apiVersion: 'v1',
      metadata: { remainingItemCount: 0 },
      items: items.map((r) => ({
        kind: 'Replica',
        apiVersion: 'v1',
        metadata: { name: r._id },
        status: {
          host: r.host,
          ports: r.ports,
          version: r.version,
          startedAt: r.startedAt,
          heartbeatAt: r.heartbeatAt,
          silentSeconds: r.silentSeconds,
          gone: r.gone,
          agents: r.agents,
          movableAgents: r.movableAgents ?? null,
          rebalance: r.rebalance ?? null,
          bus: r.bus,
          leases: r.leases,
        },
      })),
    };
  }
}
