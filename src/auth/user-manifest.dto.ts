import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsBoolean, IsDefined, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateIf, ValidateNested } from 'class-validator';
import { ROLES } from '../common/roles';
import type { Role } from '../common/roles';

const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;

export class UserMetadataDto {
  @ApiProperty({ description: 'User name: 1-64 lower-case letters, digits, ".", "_", "@", ":" or "-"', example: 'ada' })
  @IsString()
  @MaxLength(64)
  @Matches(/^[a-z0-9]([a-z0-9._@:-]{0,62}[a-z0-9])?$/, { message: 'metadata.name must be 1-64 lower-case letters, digits, ".", "_", "@", ":" or "-"' })
  name: string;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  createdAt?: unknown;

  @ApiPropertyOptional({ description: 'Read-only; ignored when sent back' })
  @Allow()
  updatedAt?: unknown;
}

export class UserSpecDto {
  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES as unknown as string[])
  role: Role;

  @ApiPropertyOptional({
    description: 'At least 12 characters, not a well-known one. Absent: the user signs in with GitHub only',
    format: 'password',
    minLength: 12,
  })
  @ValidateIf((_o, v) => v !== undefined) // null is not "no password": it is refused
  @IsString()
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ description: 'GitHub login this user signs in as', example: 'octocat' })
  @IsOptional()
  @IsString()
  @Matches(GITHUB_LOGIN, { message: 'spec.githubLogin must be a GitHub login' })
  githubLogin?: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}

/** Body of POST /api/v1/users. */
export class CreateUserDto {
  @ApiPropertyOptional({ example: 'User' })
  @IsOptional()
  @IsIn(['User'])
  kind?: string;

  @ApiPropertyOptional({ example: 'v1' })
  @IsOptional()
  @IsIn(['v1'])
  apiVersion?: string;

  @ApiProperty({ type: UserMetadataDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => UserMetadataDto)
  metadata: UserMetadataDto;

  @ApiProperty({ type: UserSpecDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => UserSpecDto)
  spec: UserSpecDto;
}

export class PatchUserSpecDto {
  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES as unknown as string[])
  role?: Role;

  @ApiPropertyOptional({
    description: "A new password (at least 12 characters, not a well-known one); ends the user's sessions",
    format: 'password',
    minLength: 12,
  })
  @ValidateIf((_o, v) => v !== undefined)
  @IsString()
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ type: 'string', description: 'GitHub login; null unlinks', nullable: true })
  @ValidateIf((_o, v) => v !== null && v !== undefined)
  @IsString()
  @Matches(GITHUB_LOGIN, { message: 'spec.githubLogin must be a GitHub login or null' })
  githubLogin?: string | null;

  @ApiPropertyOptional({ description: 'A disabled user cannot sign in; disabling ends their sessions' })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}

/** Body of PATCH /api/v1/users/:name: the spec fields to change. */
export class PatchUserDto {
  @ApiProperty({ type: PatchUserSpecDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => PatchUserSpecDto)
  spec: PatchUserSpecDto;
}
