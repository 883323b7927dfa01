import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/** Names of REST resources (groups, remote configs) are DNS labels (RFC 1123), as in Kubernetes. */
export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_MAX_LENGTH = 63;

export function isDnsLabel(name: unknown): name is string {
  return typeof name === 'string' && name.length <= DNS_LABEL_MAX_LENGTH && DNS_LABEL_PATTERN.test(name);
}

export const DNS_LABEL_MESSAGE = 'must be a DNS label: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit';

/** A DTO property holding a resource name. */
export function IsResourceName(description = 'Resource name, a DNS label') {
  return applyDecorators(
    ApiProperty({ description, maxLength: DNS_LABEL_MAX_LENGTH, pattern: DNS_LABEL_PATTERN.source, example: 'collectors-prod' }),
    IsString(),
    MaxLength(DNS_LABEL_MAX_LENGTH, { message: `$property ${DNS_LABEL_MESSAGE}` }),
    Matches(DNS_LABEL_PATTERN, { message: `$property ${DNS_LABEL_MESSAGE}` }),
  );
}

/** resourceVersion travels as a decimal string (opaque to clients), stored as an integer. */
export const RESOURCE_VERSION_PATTERN = /^[1-9][0-9]{0,15}$/;
