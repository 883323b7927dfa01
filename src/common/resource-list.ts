import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { InvalidError } from './domain-errors';

/** Shared pieces of list endpoints: `limit` + `continue` cursors and the `{kind, apiVersion, metadata, items}` envelope. */

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** Query strings carry text; `true`/`false` become booleans, anything else stays to fail validation. */
export const toBoolean = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

/** `limit` and `continue`, validated the same way on every list. */
export class PageQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Most items in one page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  // Tokens of these lists are base64url of "s:<last key>", so they begin cz[o-r]; the pattern says so.
  @ApiPropertyOptional({
    description: 'The `metadata.continue` token of the previous page (any other value is refused with 400)',
    maxLength: 400,
    pattern: '^cz[o-r][A-Za-z0-9_-]*$',
  })
  @IsOptional()
  @IsString()
  @MaxLength(400)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'continue must be a token returned by a previous page' })
  continue?: string;
}

/** `continue` of lists whose tokens are not string keys (revisions, agents): opaque, checked when decoded. */
export const OPAQUE_CONTINUE = {
  description: 'The `metadata.continue` token of the previous page (any other value is refused with 400)',
  minLength: 1,
  maxLength: 400,
  pattern: '^[A-Za-z0-9_-]+$',
};

/** A page query of a resource that can be soft-deleted. */
export class ResourcePageQuery extends PageQuery {
  @ApiPropertyOptional({ default: false, description: 'Also list soft-deleted resources' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  includeDeleted?: boolean;
}

/** Cursors are opaque to clients: the last key of the previous page, base64url-encoded with a tag. */
export function encodeCursor(key: string | number): string {
  return Buffer.from(`${typeof key === 'number' ? 'n' : 's'}:${key}`).toString('base64url');
}

export function decodeStringCursor(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith('s:'))
    throw new InvalidError('continue is not a token returned by a previous page', {
      errors: [{ field: 'continue', message: 'not a token returned by a previous page' }],
    });
  return text.slice(2);
}

export function decodeNumberCursor(token: string | undefined): number | undefined {
  if (token === undefined) return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const n = Number(text.slice(2));
  if (!text.startsWith('n:') || !Number.isSafeInteger(n)) {
    throw new InvalidError('continue is not a token returned by a previous page', {
      errors: [{ field: 'continue', message: 'not a token returned by a previous page' }],
    });
  }
  return n;
}

/** One page as the API shows it. */
export interface ResourceList<T> {
  kind: string;
  apiVersion: 'v1';
  metadata: { continue?: string; remainingItemCount: number };
  items: T[];
}

export function resourceList<T>(kind: string, items: T[], remaining: number, lastKey: string | number | undefined): ResourceList<T> {
  return {
    kind,
    apiVersion: 'v1',
    metadata: { continue: remaining > 0 && lastKey !== undefined ? encodeCursor(lastKey) : undefined, remainingItemCount: remaining },
    items,
  };
}
