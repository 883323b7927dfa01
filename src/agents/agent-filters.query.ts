import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsNumber, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { labelMapSchema } from '../common/openapi/label-schemas';

/** The states of `status.remoteConfig.state`, and `none` for an agent no config is assigned to. */
/** Conditions stored on the agent document (and so filterable). */
export const STORED_CONDITIONS = ['ConfigDrift', 'Idle', 'ExportFailing', 'Stale', 'Restarting'] as const;

export const CONFIG_STATES = ['applied', 'applying', 'failed', 'pending', 'unsupported', 'none'] as const;
import { OPAQUE_CONTINUE, PageQuery, toBoolean } from '../common/resource-list';

/** `package=NAME` or `NAME@VERSION` (the package catalogue's names: a DNS label, a version such as 1.2.3). */
export const AGENT_PACKAGE_FILTER_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(@[0-9A-Za-z][0-9A-Za-z._+-]{0,63})?$/;
export const AGENT_PACKAGE_FILTER_MAX_LENGTH = 63 + 1 + 64;

export const AGENT_SORTS = [
  'uid',
  '-uid',
  'lastSeen',
  '-lastSeen',
  'firstSeen',
  '-firstSeen',
  'acceptedRate',
  '-acceptedRate',
  'sentRate',
  '-sentRate',
  'exportFailureRatio',
  '-exportFailureRatio',
] as const;

/** The document field behind each sort key (always present on an agent, except the rates: see RATE_SORT_FIELDS). */
export const AGENT_SORT_FIELDS: Record<string, string> = {
  uid: '_id',
  lastSeen: 'connection.lastSeenAt',
  firstSeen: 'firstSeenAt',
  acceptedRate: 'ownTelemetry.acceptedPerSecond',
  sentRate: 'ownTelemetry.sentPerSecond',
  exportFailureRatio: 'ownTelemetry.exportFailureRatio',
};

/** The rate filters of the agents list: query parameter → the stored field and the bound it sets. */
export const RATE_FILTERS = [
  ['minAcceptedRate', 'ownTelemetry.acceptedPerSecond', '$gte'],
  ['maxAcceptedRate', 'ownTelemetry.acceptedPerSecond', '$lte'],
  ['minSentRate', 'ownTelemetry.sentPerSecond', '$gte'],
  ['maxSentRate', 'ownTelemetry.sentPerSecond', '$lte'],
  ['minExportFailureRatio', 'ownTelemetry.exportFailureRatio', '$gte'],
  ['maxExportFailureRatio', 'ownTelemetry.exportFailureRatio', '$lte'],
] as const;

/** Sort fields only agents with own telemetry have: a list sorted by one of them holds only those agents. */
export const RATE_SORT_FIELDS = new Set(['ownTelemetry.acceptedPerSecond', 'ownTelemetry.sentPerSecond', 'ownTelemetry.exportFailureRatio']);

export const AGENT_LIST_VIEWS = ['summary', 'full'] as const;
export type AgentListView = (typeof AGENT_LIST_VIEWS)[number];

/** Filters of `GET /api/v1/agents`; all of them must hold. */
export class ListAgentsQuery extends PageQuery {
  @ApiPropertyOptional(OPAQUE_CONTINUE)
  declare continue?: string;

  @ApiPropertyOptional({
    description:
      'Label selector over server-side labels and identifying and non-identifying attributes: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, comma-separated; a selector that does not parse is refused with 400 naming the column',
    maxLength: 1024, // 1024 characters, percent-encoded, stay within the API's request-header limit (API_MAX_HEADER_BYTES)
    example: 'service.name=checkout,deployment.environment in (prod,staging)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  selector?: string;

  @ApiPropertyOptional({ description: 'Only connected (true) or disconnected (false) agents' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  connected?: boolean;

  @ApiPropertyOptional({ description: 'Only agents whose reported health is healthy (true) or not (false)' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  healthy?: boolean;

  @ApiPropertyOptional({ enum: ['websocket', 'http', 'grpc'] })
  @IsOptional()
  @IsIn(['websocket', 'http', 'grpc'])
  transport?: 'websocket' | 'http' | 'grpc';

  @ApiPropertyOptional({
    enum: CONFIG_STATES,
    description: 'Only agents whose remote config delivery is in this state (`none`: no config is assigned to it)',
  })
  @IsOptional()
  @IsIn(CONFIG_STATES)
  configState?: (typeof CONFIG_STATES)[number];

  @ApiPropertyOptional({
    enum: STORED_CONDITIONS,
    description:
      'Only agents whose condition of this type is True. ConfigDrift is kept on the agent by its OpAMP session; the own-telemetry conditions (Idle, ExportFailing, Stale, Restarting) as the replica holding its telemetry window last wrote them (`status.ownTelemetry`, checked every 15 s).',
  })
  @IsOptional()
  @IsIn(STORED_CONDITIONS)
  condition?: (typeof STORED_CONDITIONS)[number];

  @ApiPropertyOptional({ description: 'Only agents selected by this agent group', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' })
  @IsOptional()
  @Matches(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, { message: 'group must be an agent group name (a DNS label)' })
  group?: string;

  @ApiPropertyOptional({
    description:
      'Only agents that report this package (`NAME`) or run this version of it (`NAME@VERSION`), from their reported package statuses (an indexed term)',
    maxLength: AGENT_PACKAGE_FILTER_MAX_LENGTH,
    pattern: AGENT_PACKAGE_FILTER_PATTERN.source,
    example: 'otelcol-contrib@0.149.0',
  })
  @IsOptional()
  @IsString()
  @MaxLength(AGENT_PACKAGE_FILTER_MAX_LENGTH)
  @Matches(AGENT_PACKAGE_FILTER_PATTERN, { message: 'package must be NAME or NAME@VERSION: NAME a DNS label, VERSION such as 1.2.3' })
  package?: string;

  @ApiPropertyOptional({
    type: 'number',
    minimum: 0,
    description: 'Only agents whose stored items accepted per second (`status.ownTelemetry`) are at least this',
  })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  minAcceptedRate?: number;

  @ApiPropertyOptional({
    type: 'number',
    minimum: 0,
    description: 'Only agents whose stored items accepted per second are at most this (agents without own telemetry are left out)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  maxAcceptedRate?: number;

  @ApiPropertyOptional({ type: 'number', minimum: 0, description: 'Only agents whose stored items sent per second are at least this' })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  minSentRate?: number;

  @ApiPropertyOptional({
    type: 'number',
    minimum: 0,
    description: 'Only agents whose stored items sent per second are at most this (agents without own telemetry are left out)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  maxSentRate?: number;

  @ApiPropertyOptional({
    type: 'number',
    minimum: 0,
    maximum: 1,
    description: 'Only agents whose stored export failure ratio (failed / (sent + failed)) is at least this',
  })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  minExportFailureRatio?: number;

  @ApiPropertyOptional({
    type: 'number',
    minimum: 0,
    maximum: 1,
    description: 'Only agents whose stored export failure ratio is at most this (agents without own telemetry are left out)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  maxExportFailureRatio?: number;

  @ApiPropertyOptional({
    enum: AGENT_SORTS,
    default: 'uid',
    description:
      'Order of the list; `-` for descending. The rates (`acceptedRate`, `sentRate`: items per second; `exportFailureRatio`) are those of `status.ownTelemetry`, and a list sorted by one of them holds only the agents that have one',
  })
  @IsOptional()
  @IsIn(AGENT_SORTS)
  sort?: (typeof AGENT_SORTS)[number];

  @ApiPropertyOptional({ description: 'Free text searched in the uid and in attribute values (service.name, host.name, …), case-insensitive', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional({
    enum: AGENT_LIST_VIEWS,
    default: 'summary',
    description:
      'Shape of the items. `summary`: effective config files as name, content type and size (no bodies) and health without the ' +
      'component tree (with componentCount and unhealthyComponentCount); everything else as `GET /agents/{id}`. `full`: exactly `GET /agents/{id}`.',
  })
  @IsOptional()
  @IsIn(AGENT_LIST_VIEWS)
  view?: AgentListView;
}

/** `PATCH /api/v1/agents/{id}`: a merge patch of server-side labels (null removes a label). */
export class PatchAgentBody {
  @ApiProperty({
    type: 'object',
    required: ['labels'],
    additionalProperties: false,
    properties: {
      labels: labelMapSchema({
        agentKeys: true,
        nullableValues: true,
        description: 'Label values to set, or null to remove a label; keys without "."',
      }) as never,
    },
    example: { labels: { team: 'payments', canary: null } },
  })
  @IsObject()
  metadata: { labels?: Record<string, string | null> };
}
