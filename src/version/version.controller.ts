import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { buildInfo } from './build-info';

@ApiTags('server')
@Controller()
export class VersionController {
  @Get('version')
  @ApiOperation({ summary: 'Server version, commit, build date and Node.js version' })
  version() {
    return { ...buildInfo(), nodeVersion: process.version };
  }

  @Get('ping')
  @ApiOperation({ summary: 'Answers pong; for clients checking reachability' })
  ping() {
    return { ping: 'pong', time: new Date().toISOString() };
  }
}
