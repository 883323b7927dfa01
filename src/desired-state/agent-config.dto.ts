import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { GroupConfigRefDto } from '../agent-groups/agent-group-manifest.dto';

export class InlineConfigFileDto {
  @ApiProperty({ description: 'Key in the agent config map; "" is the single-file Collector entry', example: '' })
  @IsString()
  @MaxLength(255)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'fileName must not contain control characters' })
  fileName: string;

  @ApiProperty({ example: 'application/yaml' })
  @IsString()
  @MaxLength(255)
  contentType: string;

  @ApiProperty({ description: 'The file content (YAML and JSON are parsed before they are accepted)' })
  @IsString()
  @MaxLength(4 * 1024 * 1024)
  body: string;
}

/**
 * `PUT /api/v1/agents/{id}/update-agent-config`: the agent's own configuration, overriding any
 * group's. Entries come from remote configs (`configs`) and/or inline (`files`). Neither, or
 * both empty, clears it so that the agent falls back to its group.
 */
export class UpdateAgentConfigDto {
  @ApiPropertyOptional({ type: [GroupConfigRefDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => GroupConfigRefDto)
  configs?: GroupConfigRefDto[];

  @ApiPropertyOptional({ type: [InlineConfigFileDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => InlineConfigFileDto)
  files?: InlineConfigFileDto[];
}
