import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, ArrayMaxSize, IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import {
  PACKAGE_FILE_NAME_MESSAGE,
  PACKAGE_FILE_NAME_PATTERN,
  PACKAGE_ID_MAX_LENGTH,
  PACKAGE_ID_PATTERN,
  PLATFORM_MESSAGE,
  PLATFORM_PATTERN,
} from './package-names';

/** Base64 (standard or URL-safe) of at least one byte. */
export const SIGNATURE_PATTERN = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** An https URL of a host (the service parses it fully). */
export const HTTPS_URL_PATTERN = /^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[!-~]*)?$/;

export const PACKAGE_TYPES = ['top-level', 'addon'] as const;
/** Largest base64 signature taken (a 4096-bit RSA signature is 684 characters). */
export const MAX_SIGNATURE_LENGTH = 4096;
/**
 * Largest base64 Sigstore bundle taken (24 KiB of JSON; a public-instance bundle of a CI identity is
 * about 11 KiB): with the rest of the request, even percent-encoded, it stays within API_MAX_HEADER_BYTES.
 */
export const MAX_BUNDLE_LENGTH = 32_768;
export const MAX_FILES_PER_VERSION = 64;

const ID_MESSAGE = 'must be NAME@VERSION: NAME a DNS label, VERSION such as 1.2.3';

export class AgentPackageMetadataDto {
  @ApiProperty({ description: 'NAME@VERSION, e.g. otelcol-contrib@0.149.0', maxLength: PACKAGE_ID_MAX_LENGTH, example: 'otelcol-contrib@0.149.0' })
  @IsString()
  @MaxLength(PACKAGE_ID_MAX_LENGTH, { message: `metadata.name ${ID_MESSAGE}` })
  @Matches(PACKAGE_ID_PATTERN, { message: `metadata.name ${ID_MESSAGE}` })
  name: string;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  resourceVersion?: unknown;

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

/** A file of a version given by URL (uploaded files come through PUT …/files/FILE instead). */
export class ExternalPackageFileDto {
  @ApiProperty({
    description: 'Plain file name, unique in the version',
    maxLength: 255,
    pattern: PACKAGE_FILE_NAME_PATTERN.source,
    example: 'otelcol-contrib_0.149.0_linux_amd64.tar.gz',
  })
  @IsString()
  @Matches(PACKAGE_FILE_NAME_PATTERN, { message: `name ${PACKAGE_FILE_NAME_MESSAGE}` })
  name: string;

  @ApiPropertyOptional({
    description: '`os` or `os/arch` (as agents report os.type and host.arch), unique in the version; left out: every platform',
    pattern: PLATFORM_PATTERN.source,
    example: 'linux/amd64',
  })
  @IsOptional()
  @IsString()
  @Matches(PLATFORM_PATTERN, { message: `platform ${PLATFORM_MESSAGE}` })
  platform?: string;

  @ApiProperty({
    description: 'https URL agents download the file from (no credentials in it)',
    maxLength: 2048,
    pattern: HTTPS_URL_PATTERN.source,
    example: 'https://downloads.example.com/otelcol-contrib_0.149.0_linux_amd64.tar.gz',
  })
  @IsString()
  @MaxLength(2048)
  @Matches(HTTPS_URL_PATTERN, { message: 'url must be an https URL' })
  url: string;

  @ApiProperty({ description: 'SHA-256 of the file, hex', pattern: '^[0-9a-fA-F]{64}$' })
  @IsString()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'sha256 must be 64 hexadecimal digits' })
  sha256: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  size?: number;

  @ApiPropertyOptional({
    description:
      'Signature of the file, base64; passed to agents as given (the server cannot verify a file it never sees); a Sigstore bundle is refused (it is verified against the bytes: upload the file with sigstoreBundle)',
    maxLength: MAX_SIGNATURE_LENGTH,
    pattern: SIGNATURE_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_SIGNATURE_LENGTH)
  @Matches(SIGNATURE_PATTERN, { message: 'signature must be base64 (standard or URL-safe)' })
  signature?: string;

  @ApiPropertyOptional({ description: 'Read-only (set by an upload with sigstoreBundle); ignored when sent back' })
  @Allow()
  sigstoreBundle?: unknown;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  stored?: unknown;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  downloadPath?: unknown;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  signatureVerified?: unknown;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  addedAt?: unknown;
}

export class AgentPackageSpecDto {
  @ApiPropertyOptional({ enum: PACKAGE_TYPES, default: 'top-level', description: 'top-level: the agent itself; addon: something it loads beside itself' })
  @IsOptional()
  @IsIn(PACKAGE_TYPES)
  type?: (typeof PACKAGE_TYPES)[number];

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiPropertyOptional({
    type: [ExternalPackageFileDto],
    description: 'Files at external https URLs; uploaded files are added with PUT /packages/{name}/files/{file}',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_FILES_PER_VERSION)
  @ValidateNested({ each: true })
  @Type(() => ExternalPackageFileDto)
  files?: ExternalPackageFileDto[];

  @ApiPropertyOptional({ description: 'Read-only (derived from metadata.name); ignored when sent back' })
  @Allow()
  package?: unknown;

  @ApiPropertyOptional({ description: 'Read-only (derived from metadata.name); ignored when sent back' })
  @Allow()
  version?: unknown;
}

/** An AgentPackage as sent to POST (create a version). */
export class AgentPackageManifestDto {
  @ApiPropertyOptional({ enum: ['AgentPackage'] })
  @IsOptional()
  @IsIn(['AgentPackage'])
  kind?: string;

  @ApiPropertyOptional({ enum: ['v1'] })
  @IsOptional()
  @IsIn(['v1'])
  apiVersion?: string;

  @ApiProperty({ type: AgentPackageMetadataDto })
  @IsObject()
  @ValidateNested()
  @Type(() => AgentPackageMetadataDto)
  metadata: AgentPackageMetadataDto;

  @ApiPropertyOptional({ type: AgentPackageSpecDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => AgentPackageSpecDto)
  spec?: AgentPackageSpecDto;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  status?: unknown;
}
