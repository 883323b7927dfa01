import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsDate, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '../common/resource-list';
import { ToDateTime } from '../common/date-time';

/** Filters of GET /api/v1/audit; every one given must match. */
export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'User name of whoever made the change', example: 'admin', maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  actor?: string;

  @ApiPropertyOptional({
    description: 'Resource kind: the path segment after /api/v1 (agentgroups, remoteconfigs, agents, users, enrollment-tokens, sessions)',
    pattern: '^[a-z][a-z0-9-]{0,63}$',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,63}$/, { message: 'kind must be a resource kind such as agentgroups' })
  kind?: string;

  @ApiPropertyOptional({ description: 'Resource name', maxLength: 256 })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  name?: string;

  @ApiPropertyOptional({
    description: 'create, replace, update, delete, login, logout, revoke, or a sub-resource action such as rollback',
    pattern: '^[a-z][a-z0-9/-]{0,63}$',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z][a-z0-9/-]{0,63}$/, { message: 'action must be a word such as update' })
  action?: string;

  @ApiPropertyOptional({ description: 'Only entries at or after this time (ISO 8601)', example: '2026-01-01T00:00:00Z', type: 'string', format: 'date-time' })
  @IsOptional()
  @ToDateTime()
  @IsDate({ message: 'since must be an ISO 8601 date-time' })
  since?: Date;

  @ApiPropertyOptional({ description: 'Only entries before this time (ISO 8601)', type: 'string', format: 'date-time' })
  @IsOptional()
  @ToDateTime()
  @IsDate({ message: 'until must be an ISO 8601 date-time' })
  until?: Date;
}
