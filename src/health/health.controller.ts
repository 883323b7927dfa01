import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonResponse, ApiProblemResponses, ApiPublic } from '../common/openapi';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { EventBusHealthIndicator } from './event-bus.health';
import { ListenersHealthIndicator } from './listeners.health';

/** Kubernetes-style probes: liveness never touches dependencies, readiness does. */
@ApiTags('health')
@ApiPublic()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly listeners: ListenersHealthIndicator,
    private readonly bus: EventBusHealthIndicator,
  ) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process answers (503 once the embedded database could not be restarted)' })
  @ApiJsonResponse(200, { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } }, 'The process is alive')
  @ApiProblemResponses(503)
  healthz() {
    if (this.database.gaveUp) throw new ServiceUnavailableException('The embedded database died and could not be restarted; the server exits.');
    return { status: 'ok' };
  }

  @Get('readyz')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: the database answers a ping and every listener is up; `details.eventBus.connected` says whether the bus between replicas is reached (never makes it unready)',
  })
  readyz() {
    return this.health.check([() => this.database.ping('database'), () => this.listeners.check('listeners'), () => this.bus.check('eventBus')]);
  }
}
