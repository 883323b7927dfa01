import { ApiPropertyOptional } from '@nestjs/swagger';
import { ListAgentsQuery } from '../agents/agent-filters.query';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { toBoolean } from '../common/resource-list';

export class IncludeDeletedGroupQuery {
  @ApiPropertyOptional({ default: false, description: 'Also find a soft-deleted agent group' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  includeDeleted?: boolean;
}

/** `GET /agentgroups/{name}/agents`: the agent list's filters, plus whether the group governs them. */
export class GroupAgentsQuery extends ListAgentsQuery {
  @ApiPropertyOptional({
    description:
      'Only the agents the group governs (true: its config is theirs) or only those it matches but does not govern (false: another group or their own config wins; `status.governedBy` says which)',
  })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  governed?: boolean;
}
