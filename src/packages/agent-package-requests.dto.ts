import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ResourcePageQuery, toBoolean } from '../common/resource-list';
import { DNS_LABEL_MESSAGE, DNS_LABEL_PATTERN } from '../common/resource-name';
import { MAX_BUNDLE_LENGTH, MAX_SIGNATURE_LENGTH, PACKAGE_TYPES, SIGNATURE_PATTERN } from './agent-package-manifest.dto';
import { PACKAGE_FILE_NAME_PATTERN, PACKAGE_ID_MAX_LENGTH, PACKAGE_ID_PATTERN, PLATFORM_MESSAGE, PLATFORM_PATTERN } from './package-names';

const ID_MESSAGE = 'name must be NAME@VERSION: NAME a DNS label, VERSION such as 1.2.3';

export class AgentPackageIdParam {
  @ApiProperty({
    description: 'NAME@VERSION of the package version',
    maxLength: PACKAGE_ID_MAX_LENGTH,
    pattern: PACKAGE_ID_PATTERN.source,
    example: 'otelcol-contrib@0.149.0',
  })
  @IsString()
  @MaxLength(PACKAGE_ID_MAX_LENGTH, { message: ID_MESSAGE })
  @Matches(PACKAGE_ID_PATTERN, { message: ID_MESSAGE })
  name: string;
}

/** The file name is checked by the service, which says what is wrong with it (a separator, NUL, "..") rather than only that it does not match. */
export class AgentPackageFileParam extends AgentPackageIdParam {
  @ApiProperty({
    description: 'Plain file name (no "/", "\\\\", NUL, and not "." or ".."), unique in the version',
    maxLength: 255,
    pattern: PACKAGE_FILE_NAME_PATTERN.source,
    example: 'otelcol-contrib_0.149.0_linux_amd64.tar.gz',
  })
  @IsString()
  @MaxLength(255)
  file: string;
}

export class AgentPackagePageQuery extends ResourcePageQuery {
  @ApiPropertyOptional({ description: 'Only the versions of this package', maxLength: 63, pattern: DNS_LABEL_PATTERN.source })
  @IsOptional()
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: `package ${DNS_LABEL_MESSAGE}` })
  package?: string;
}

export class IncludeDeletedPackageQuery {
  @ApiPropertyOptional({ default: false, description: 'Also find a soft-deleted version' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  includeDeleted?: boolean;
}

export class UploadPackageFileQuery {
  @ApiPropertyOptional({ description: '`os` or `os/arch` the file is for; left out: every platform', example: 'linux/amd64', pattern: PLATFORM_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(PLATFORM_PATTERN, { message: `platform ${PLATFORM_MESSAGE}` })
  platform?: string;

  @ApiPropertyOptional({
    enum: PACKAGE_TYPES,
    description: 'Type of the version when this upload creates it (default top-level); must agree with an existing version',
  })
  @IsOptional()
  @IsIn(PACKAGE_TYPES)
  type?: (typeof PACKAGE_TYPES)[number];

  @ApiPropertyOptional({
    description: 'SHA-256 of the file (hex) as the uploader computed it; refused with 400 and nothing stored when the bytes differ',
    pattern: '^[0-9a-fA-F]{64}$',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'sha256 must be 64 hexadecimal digits' })
  sha256?: string;

  @ApiPropertyOptional({
    description:
      'Signature of the file, base64: verified against PACKAGE_SIGNING_PUBLIC_KEY_FILE when set (RSA/ECDSA over the file with SHA-256, Ed25519 over its SHA-256 digest), 400 and nothing stored when it does not verify; a Sigstore bundle goes in `sigstoreBundle` instead',
    maxLength: MAX_SIGNATURE_LENGTH,
    pattern: SIGNATURE_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_SIGNATURE_LENGTH)
  @Matches(SIGNATURE_PATTERN, { message: 'signature must be base64 (standard or URL-safe)' })
  signature?: string;

  @ApiPropertyOptional({
    description:
      'Sigstore bundle of the file (cosign sign-blob --bundle, v0.1-v0.3 JSON), base64 (URL-safe recommended: it travels in the request line, which with the headers may take 128 KiB here; a proxy in front must allow as long a request line). ' +
      'Verified offline before anything is stored: its message digest must be the bytes’ SHA-256 and its signature must verify over them; a keyless bundle’s certificate must chain to ' +
      'PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE and name PACKAGE_SIGSTORE_IDENTITY(_REGEXP) and PACKAGE_SIGSTORE_OIDC_ISSUER, with the transparency log entries, SCTs and timestamps the thresholds ask; ' +
      'a keyed bundle (public key hint) is checked against PACKAGE_SIGNING_PUBLIC_KEY_FILE. 400 and nothing stored otherwise. The bundle’s JSON is what agents are offered as the file’s signature. ' +
      'Not together with `signature`.',
    maxLength: MAX_BUNDLE_LENGTH,
    pattern: SIGNATURE_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_BUNDLE_LENGTH)
  @Matches(SIGNATURE_PATTERN, { message: 'sigstoreBundle must be the base64 (standard or URL-safe) of the bundle JSON' })
  sigstoreBundle?: string;
}
