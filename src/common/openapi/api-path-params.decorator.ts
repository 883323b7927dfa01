import { ApiParam } from '@nestjs/swagger';

/** An agent's instance uid in a path: canonical UUID text (any case), or a legacy 26-character ULID. */
export const INSTANCE_UID_PATTERN = '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26})$';

export function ApiInstanceUidParam(): MethodDecorator {
  return ApiParam({
    name: 'instanceUid',
    description: 'Instance uid of the agent: UUID text (8-4-4-4-12 hex), or a legacy 26-character ULID',
    schema: { type: 'string', pattern: INSTANCE_UID_PATTERN, example: '0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90' },
  });
}
