import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { IsResourceName, RESOURCE_VERSION_PATTERN } from '../common/resource-name';

/** Largest body of one remote config (characters); agents get several in one message. */
export const MAX_REMOTE_CONFIG_BODY = 4 * 1024 * 1024;
/** `type/subtype` with optional parameters (RFC 6838 names). */
export const MEDIA_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"]*"|[^;\s"]+))*$/;

export class RemoteConfigMetadataDto {
  @IsResourceName('Name of the remote config, a DNS label')
  name: string;

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

export class RemoteConfigSpecDto {
  @ApiPropertyOptional({
    description:
      'Media type of the body. YAML (application/yaml, text/yaml, application/x-yaml, *+yaml) and JSON (application/json, *+json) bodies are parsed before they are accepted.',
    default: 'application/yaml',
    example: 'application/yaml',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @Matches(MEDIA_TYPE_PATTERN, { message: 'spec.contentType must be a media type such as application/yaml' })
  contentType?: string;

  @ApiProperty({
    description: 'The configuration document',
    maxLength: MAX_REMOTE_CONFIG_BODY,
    example: 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\n',
  })
  @IsString()
  @MaxLength(MAX_REMOTE_CONFIG_BODY)
  body: string;

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;
}

/** A RemoteConfig as sent to POST (create) and PUT (replace). */
export class RemoteConfigManifestDto {
  @ApiPropertyOptional({ enum: ['RemoteConfig'] })
  @IsOptional()
  @IsIn(['RemoteConfig'])
  kind?: string;

  @ApiPropertyOptional({ enum: ['v1'] })
  @IsOptional()
  @IsIn(['v1'])
  apiVersion?: string;

  @ApiProperty({ type: RemoteConfigMetadataDto })
  @IsObject()
  @ValidateNested()
  @Type(() => RemoteConfigMetadataDto)
  metadata: RemoteConfigMetadataDto;

  @ApiProperty({ type: RemoteConfigSpecDto })
  @IsObject()
  @ValidateNested()
  @Type(() => RemoteConfigSpecDto)
  spec: RemoteConfigSpecDto;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  status?: unknown;
}
