import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, ValidateNested } from 'class-validator';
import { MAX_PACKAGE_REFS, PackageRefDto } from '../agent-groups/package-refs';

/**
 * `PUT /api/v1/agents/{id}/packages`: the agent's own packages, each overriding its group's
 * package of the same name. An empty list clears them (the agent follows its group again).
 */
export class UpdateAgentPackagesDto {
  @ApiProperty({ type: [PackageRefDto] })
  @IsArray()
  @ArrayMaxSize(MAX_PACKAGE_REFS)
  @ValidateNested({ each: true })
  @Type(() => PackageRefDto)
  packages: PackageRefDto[];
}
