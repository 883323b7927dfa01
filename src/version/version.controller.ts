import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator';
import { buildInfo } from './build-info';

@ApiTags('server')
@Public()
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
