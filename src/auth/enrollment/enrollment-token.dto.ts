import { ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsObject, IsOptional, IsString, MaxLength, ValidateBy, ValidateNested, ValidationOptions } from 'class-validator';
import { labelMapProblem } from '../../agent-groups/agent-group-field-validators';
import { labelMapSchema } from '../../common/openapi/label-schemas';
import { ToDateTime } from '../../common/date-time';

/** Why a value cannot be labels stamped on agents (the agents' own rules: no "." or leading "$" in keys). */
export function agentLabelsProblem(value: unknown): string | undefined {
  const p = labelMapProblem(value);
  if (p) return p;
  const bad = Object.keys(value as object).find((k) => k.includes('.') || k.startsWith('$'));
  return bad === undefined ? undefined : `label key "${bad}" may not contain "." or start with "$"`;
}

function IsAgentLabels(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAgentLabels',
      validator: {
        validate: (value) => agentLabelsProblem(value) === undefined,
        defaultMessage: (args) => `${args?.property} ${agentLabelsProblem(args?.value) ?? 'is invalid'}`,
      },
    },
    options,
  );
}

export class EnrollmentTokenSpecDto {
  @ApiPropertyOptional({ description: 'What the token is for', example: 'collectors in eu-west-1' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  description?: string;

  @ApiPropertyOptional({
    ...(labelMapSchema({ agentKeys: true }) as ApiPropertyOptions),
    example: { env: 'prod', region: 'eu-west-1' },
    description: 'Labels stamped onto agents that connect with the token (keys without ".")',
  })
  @IsOptional()
  @IsAgentLabels()
  labels?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    description: 'When the token stops working (ISO 8601, in the future); absent: ENROLLMENT_TOKEN_TTL_DAYS (30) days after it is made',
    example: '2027-01-01T00:00:00Z',
  })
  @IsOptional()
  @ToDateTime()
  @IsDate({ message: 'spec.expiresAt must be an ISO 8601 date-time' })
  expiresAt?: Date;
}

/** Body of POST /api/v1/enrollment-tokens. */
export class CreateEnrollmentTokenDto {
  @ApiPropertyOptional({ example: 'EnrollmentToken' })
  @IsOptional()
  @IsString()
  kind?: string;

  @ApiPropertyOptional({ example: 'v1' })
  @IsOptional()
  @IsString()
  apiVersion?: string;

  @ApiPropertyOptional({ type: EnrollmentTokenSpecDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => EnrollmentTokenSpecDto)
  spec?: EnrollmentTokenSpecDto;
}
