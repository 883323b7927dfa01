import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsLabelMap, IsLabelSelector } from '../agent-groups/agent-group-field-validators';
import { ConnectionSettingsDto, GroupConfigRefDto } from '../agent-groups/agent-group-manifest.dto';
import { IsPackageRefList, PackageRefDto } from '../agent-groups/package-refs';
import { IsResourceName, RESOURCE_VERSION_PATTERN } from '../common/resource-name';
import type { LabelSelectorObject } from '../common/selectors';

import { MAX_BAKE_SECONDS, RolloutPolicyDto } from './rollout-policy.dto';

export { GATE_METRICS, MAX_BAKE_SECONDS, MAX_STAGES, RolloutGateDto } from './rollout-policy.dto';

export class RolloutMetadataDto {
  @IsResourceName('Name of the rollout, a DNS label')
  name: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsLabelMap()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Required by PUT: the resourceVersion last read' })
  @IsOptional()
  @IsString()
  @Matches(RESOURCE_VERSION_PATTERN, { message: 'metadata.resourceVersion must be a resourceVersion returned by the server' })
  resourceVersion?: string;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  createdAt?: unknown;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  updatedAt?: unknown;
}

export class RolloutTargetDto {
  @IsResourceName('The agent group whose agents the rollout moves to its configs and packages')
  group: string;
}

/** A stage in its object form: `{ stage: "25%", selector: "ring=canary", bakeSeconds: 60, approval: true }`. */
export class RolloutStageDto {
  @ApiPropertyOptional({ description: 'A count ("1") or a percentage of the target ("25%"); omitted with a selector: every agent it matches', example: '25%' })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  @Matches(/^\s*\d+(\.\d+)?\s*%?\s*$/, { message: 'stage must be a count (5) or a percentage (25%)' })
  stage?: string;

  @ApiPropertyOptional({ description: 'Only agents this selector matches are picked by this stage', example: 'ring=canary' })
  @IsOptional()
  @IsLabelSelector()
  selector?: string | LabelSelectorObject;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_BAKE_SECONDS,
    description: 'After the gates pass, wait this long (gates still watched) before the next stage',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_BAKE_SECONDS)
  bakeSeconds?: number;

  @ApiPropertyOptional({ description: 'Wait for `POST /rollouts/{name}/approve` before this stage reaches any agent' })
  @IsOptional()
  @IsBoolean()
  approval?: boolean;
}

export class GeometricStagesDto {
  @ApiProperty({ minimum: 1, example: 3 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  initial: number;

  @ApiProperty({ minimum: 1.01, example: 5, description: 'Each stage reaches this many times the agents of the one before, until all' })
  @IsNumber()
  @Min(1.01)
  @Max(1000)
  multiplier: number;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_BAKE_SECONDS })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_BAKE_SECONDS)
  bakeSeconds?: number;
}

/** A rollout's spec: what it moves (a group, to these configs) and how (the policy's fields). */
export class RolloutSpecDto extends RolloutPolicyDto {
  @ApiProperty({ type: RolloutTargetDto })
  @IsObject()
  @ValidateNested()
  @Type(() => RolloutTargetDto)
  target: RolloutTargetDto;

  @ApiPropertyOptional({
    type: [GroupConfigRefDto],
    description: "The group's configs the rollout moves its agents to (omitted or empty: it moves packages only; at least one of configs and packages)",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => GroupConfigRefDto)
  configs?: GroupConfigRefDto[];

  @IsPackageRefList(
    "Package versions (catalogued) the rollout moves its agents to, in place of the group's versions of the same names. A stage's agent succeeds when it reports INSTALLED for each version and fails on INSTALL_FAILED. A rollback offers the group's previous versions again, forced (an explicit, audited downgrade).",
  )
  packages?: PackageRefDto[];

  @ApiPropertyOptional({
    type: ConnectionSettingsDto,
    description:
      "Connection settings (as a group's spec.connectionSettings: heartbeat, OpAMP server endpoint/headers/proxy, own-telemetry destinations) the rollout moves its agents to, in place of the group's whole connectionSettings. A stage's agent succeeds when it reports ConnectionSettingsStatus APPLIED for the offer made from them (an agent without ReportsConnectionSettingsStatus: when it was sent it) and fails on FAILED. A rollback gives the reached agents the group's previous settings again.",
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ConnectionSettingsDto)
  connectionSettings?: ConnectionSettingsDto;
}

/** A Rollout as sent to POST (create) and PUT (replace). */
export class RolloutManifestDto {
  @ApiPropertyOptional({ enum: ['Rollout'] })
  @IsOptional()
  @IsIn(['Rollout'])
  kind?: string;

  @ApiPropertyOptional({ enum: ['v1'] })
  @IsOptional()
  @IsIn(['v1'])
  apiVersion?: string;

  @ApiProperty({ type: RolloutMetadataDto })
  @IsObject()
  @ValidateNested()
  @Type(() => RolloutMetadataDto)
  metadata: RolloutMetadataDto;

  @ApiProperty({ type: RolloutSpecDto })
  @IsObject()
  @ValidateNested()
  @Type(() => RolloutSpecDto)
  spec: RolloutSpecDto;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  status?: unknown;
}

export class RolloutNameParam {
  @IsResourceName('Name of the rollout')
  name: string;
}
