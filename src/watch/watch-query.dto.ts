import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional } from 'class-validator';
import { WATCH_KINDS, WatchKind } from '../cluster/change-feed';

/** `GET /watch?kinds=agents,agentgroups`: which collections one stream follows (default: all). */
export class WatchQuery {
  @ApiPropertyOptional({
    description: `Comma-separated collections to follow: ${WATCH_KINDS.join(', ')} (default: all of them)`,
    type: String,
    example: 'agents,agentgroups',
    pattern: `^(${WATCH_KINDS.join('|')})(,(${WATCH_KINDS.join('|')}))*$`,
  })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WATCH_KINDS.length)
  @IsIn(WATCH_KINDS, { each: true, message: `kinds must be a comma-separated list of ${WATCH_KINDS.join(', ')}` })
  kinds?: WatchKind[];
}
