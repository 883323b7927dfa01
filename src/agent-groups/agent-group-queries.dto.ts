import { ApiPropertyOptional } from '@nestjs/swagger';
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
