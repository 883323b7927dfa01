import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiPropertyOptions, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsResourceName, RESOURCE_VERSION_PATTERN } from '../common/resource-name';
import { labelMapSchema } from '../common/openapi/label-schemas';
import { LabelSelectorObject, SELECTOR_OPERATORS } from '../common/selectors';
import { RolloutPolicyDto } from '../rollouts/rollout-policy.dto';
import { IsHeaderMap, IsLabelMap, IsLabelSelector } from './agent-group-field-validators';
import { IsPackageRefList, PackageRefDto } from './package-refs';

export const MAX_GROUP_CONFIGS = 64;
export const MAX_PRIORITY = 1_000_000;

export class AgentGroupMetadataDto {
  @IsResourceName('Name of the agent group, a DNS label')
  name: string;

  @ApiPropertyOptional({ ...(labelMapSchema() as ApiPropertyOptions), example: { team: 'payments' } })
  @IsOptional()
  @IsLabelMap()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Required by PUT: the resourceVersion last read; a stale one is refused with 409', example: '3' })
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

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  deletedAt?: unknown;
}

/** Documentation only: the object form of a selector (validated by IsLabelSelector). */
export class LabelSelectorRequirementDoc {
  @ApiProperty({ example: 'service.name' })
  key: string;

  @ApiProperty({ enum: SELECTOR_OPERATORS })
  operator: string;

  @ApiPropertyOptional({ type: [String], description: 'Non-empty for In/NotIn, empty for Exists/DoesNotExist' })
  values?: string[];
}

export class LabelSelectorDoc {
  @ApiPropertyOptional({ ...(labelMapSchema() as ApiPropertyOptions), example: { 'deployment.environment': 'prod' } })
  matchLabels?: Record<string, string>;

  @ApiPropertyOptional({ type: [LabelSelectorRequirementDoc] })
  matchExpressions?: LabelSelectorRequirementDoc[];
}

export class GroupConfigRefDto {
  @ApiProperty({ description: 'Key in the agent config map; "" is the single-file Collector entry', example: '' })
  @IsString()
  @MaxLength(255)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'fileName must not contain control characters' })
  fileName: string;

  @IsResourceName('Name of the remote config assigned under this file name')
  remoteConfig: string;

  @ApiPropertyOptional({ description: 'Pinned revision; omitted = follow the latest', minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2 ** 31 - 1)
  revision?: number;
}

const HTTP_URL = { protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_valid_protocol: true };

/** An HTTP(S) proxy the agent connects through (OpAMP ProxyConnectionSettings, spec v0.17). */
export class ProxyDto {
  @ApiProperty({ description: 'Proxy URL (http or https)', example: 'http://proxy.internal:3128' })
  @IsString()
  @MaxLength(2048)
  @IsUrl(HTTP_URL, { message: '$property must be an http(s) URL' })
  url: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Headers sent with the CONNECT request (e.g. Proxy-Authorization)',
  })
  @IsOptional()
  @IsHeaderMap()
  connectHeaders?: Record<string, string>;
}

export class OtlpDestinationDto {
  @ApiProperty({ description: 'Full OTLP/HTTP URL including the path', example: 'https://otel.example.com:4318/v1/metrics' })
  @IsString()
  @MaxLength(2048)
  @IsUrl(HTTP_URL, { message: '$property must be an http(s) URL' })
  endpoint: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsHeaderMap()
  headers?: Record<string, string>;

  @ApiPropertyOptional({ type: ProxyDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ProxyDto)
  proxy?: ProxyDto;
}

export class OpampConnectionDto {
  @ApiPropertyOptional({ description: 'OpAMP server URL the agents should use', example: 'wss://opamp.example.com/v1/opamp' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsUrl({ ...HTTP_URL, protocols: ['ws', 'wss', 'http', 'https'] }, { message: '$property must be a ws(s) or http(s) URL' })
  endpoint?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsHeaderMap()
  headers?: Record<string, string>;

  @ApiPropertyOptional({ type: ProxyDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ProxyDto)
  proxy?: ProxyDto;
}

export class ConnectionSettingsDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 86400, description: 'Heartbeat interval offered to the agents (never 0)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  heartbeatIntervalSeconds?: number;

  @ApiPropertyOptional({ type: OpampConnectionDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => OpampConnectionDto)
  opamp?: OpampConnectionDto;

  @ApiPropertyOptional({ type: OtlpDestinationDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => OtlpDestinationDto)
  ownMetrics?: OtlpDestinationDto;

  @ApiPropertyOptional({ type: OtlpDestinationDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => OtlpDestinationDto)
  ownTraces?: OtlpDestinationDto;

  @ApiPropertyOptional({ type: OtlpDestinationDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => OtlpDestinationDto)
  ownLogs?: OtlpDestinationDto;
}

@ApiExtraModels(LabelSelectorDoc)
export class AgentGroupSpecDto {
  @ApiProperty({
    description:
      'Which agents belong: a selector string (`env=prod,tier in (a,b),!debug`) or {matchLabels, matchExpressions}. Keys are looked up in server-side labels, identifying and non-identifying attributes. `{}` or "" selects every agent.',
    oneOf: [{ type: 'string', example: 'deployment.environment=prod' }, { $ref: getSchemaPath(LabelSelectorDoc) }],
  })
  @IsDefined({ message: 'selector is required ({} or "" selects every agent)' })
  @IsLabelSelector()
  selector: string | LabelSelectorObject;

  @ApiPropertyOptional({
    default: 0,
    minimum: -MAX_PRIORITY,
    maximum: MAX_PRIORITY,
    description: 'Among matching groups the highest priority wins; ties go to the name first in order',
  })
  @IsOptional()
  @IsInt()
  @Min(-MAX_PRIORITY)
  @Max(MAX_PRIORITY)
  priority?: number;

  @ApiPropertyOptional({ type: [GroupConfigRefDto], default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_GROUP_CONFIGS)
  @ValidateNested({ each: true })
  @Type(() => GroupConfigRefDto)
  configs?: GroupConfigRefDto[];

  @ApiPropertyOptional({ type: ConnectionSettingsDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ConnectionSettingsDto)
  connectionSettings?: ConnectionSettingsDto;

  @IsPackageRefList(
    'Packages (catalogue name and version) the agents should run, offered to those that accept packages; forward-only unless `force`. An agent’s own packages override these by name.',
    { default: [] },
  )
  packages?: PackageRefDto[];

  @ApiPropertyOptional({
    type: RolloutPolicyDto,
    description:
      'When set, a change of `configs` or of package versions (`packages`) goes out as a rollout of this shape (its stages, gates, apply timeout and what a tripped gate does): the agents keep the configs and packages they run (`status.deliveredConfigs`, `status.deliveredPackages`) until the rollout reaches them. Unset: a change goes to every agent at once.',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RolloutPolicyDto)
  rolloutPolicy?: RolloutPolicyDto;
}

/** An AgentGroup as sent to POST (create) and PUT (replace). */
export class AgentGroupManifestDto {
  @ApiPropertyOptional({ enum: ['AgentGroup'] })
  @IsOptional()
  @IsIn(['AgentGroup'])
  kind?: string;

  @ApiPropertyOptional({ enum: ['v1'] })
  @IsOptional()
  @IsIn(['v1'])
  apiVersion?: string;

  @ApiProperty({ type: AgentGroupMetadataDto })
  @IsObject()
  @ValidateNested()
  @Type(() => AgentGroupMetadataDto)
  metadata: AgentGroupMetadataDto;

  @ApiProperty({ type: AgentGroupSpecDto })
  @IsObject()
  @ValidateNested()
  @Type(() => AgentGroupSpecDto)
  spec: AgentGroupSpecDto;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  status?: unknown;
}

export class AgentGroupNameParam {
  @IsResourceName('Name of the agent group')
  name: string;
}
