import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonResponse, ApiPublic } from '../common/openapi';
import { HealthCheck, HealthCheckService, MongooseHealthIndicator } from '@nestjs/terminus';
import { ListenersHealthIndicator } from './listeners.health';

/** Kubernetes-style probes: liveness never touches dependencies, readiness does. */
@ApiTags('health')
@ApiPublic()
@Controller()

export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mongoose: MongooseHealthIndicator,
    private readonly listeners: ListenersHealthIndicator,
  ) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiJsonResponse(200, { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } }, 'The process is alive')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: the database answers a ping and every listener is up' })
  readyz() {
    return this.health.check([() => this.mongoose.pingCheck('database', { timeout: 2000 }), () => this.listeners.check('listeners')]);
  }
}
