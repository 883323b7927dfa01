import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiJsonResponse } from '../common/openapi';
import { Public } from '../auth/public.decorator';
import { buildInfo } from './build-info';

@ApiTags('server')
@Public()
@Controller()
export class VersionController {
  @Get('version')
  @ApiOperation({ summary: 'Server version, commit, build date and Node.js version' })
  @ApiJsonResponse(200, {
    type: 'object',
    required: ['version', 'nodeVersion'],
    properties: { version: { type: 'string' }, commit: { type: 'string' }, buildDate: { type: 'string' }, nodeVersion: { type: 'string' } },
  })
  version() {
    return { ...buildInfo(), nodeVersion: process.version };
  }

  @Get('ping')
  @ApiOperation({ summary: 'Answers pong; for clients checking reachability' })
  @ApiJsonResponse(200, {
    type: 'object',
    required: ['ping', 'time'],
    properties: { ping: { type: 'string', enum: ['pong'] }, time: { type: 'string', format: 'date-time' } },
  })
  ping() {
    return { ping: 'pong', time: new Date().toISOString() };
  }
}
