import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { OPAQUE_CONTINUE, PageQuery, toBoolean } from '../common/resource-list';
import { IsResourceName, RESOURCE_VERSION_PATTERN } from '../common/resource-name';

const MAX_REVISION = 2 ** 31 - 1;

export class RemoteConfigNameParam {
  @IsResourceName('Name of the remote config')
  name: string;
}

export class RevisionParam extends RemoteConfigNameParam {
  @ApiProperty({ description: 'A revision number (1, 2, …) or `latest`', example: '1', pattern: '^(latest|[1-9][0-9]{0,9})$' })
  @IsString()
  @Matches(/^(latest|[1-9][0-9]{0,9})$/, { message: 'revision must be a revision number (1, 2, …) or latest' })
  revision: string;
}

export class IncludeDeletedQuery {
  @ApiPropertyOptional({ default: false, description: 'Also find a soft-deleted remote config' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  includeDeleted?: boolean;
}

export class RevisionPageQuery extends PageQuery {
  @ApiPropertyOptional(OPAQUE_CONTINUE)
  declare continue?: string;

  @ApiPropertyOptional({ default: false, description: 'History of a soft-deleted remote config too' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  includeDeleted?: boolean;
}

/** Why a change was made, recorded on the revision it creates. */
export class ChangeMessageQuery {
  @ApiPropertyOptional({ description: 'Message recorded on the revision this change creates', maxLength: 1000 })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  message?: string;
}

export class DiffQuery extends IncludeDeletedQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_REVISION,
    description: 'Older revision; default: the one before `to` (400 when there is none)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_REVISION)
  from?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_REVISION, description: 'Newer revision; default: the latest' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_REVISION)
  to?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 1000, description: 'Unchanged lines around each change', default: 3 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  context?: number;
}

export class RollbackRemoteConfigDto {
  @ApiProperty({ description: 'The revision whose content becomes the new latest revision', example: 1 })
  @IsInt()
  @Min(1)
  @Max(MAX_REVISION)
  revision: number;

  @ApiPropertyOptional({ description: 'Message recorded on the new revision; default "rollback to revision N"', maxLength: 1000 })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  message?: string;

  @ApiPropertyOptional({ description: 'When given, the rollback is refused with 409 unless it is the current resourceVersion' })
  @IsOptional()
  @IsString()
  @Matches(RESOURCE_VERSION_PATTERN, { message: 'resourceVersion must be a resourceVersion returned by the server' })
  resourceVersion?: string;
}
