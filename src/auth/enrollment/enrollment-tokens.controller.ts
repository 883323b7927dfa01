import { Body, Controller, Delete, Get, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { decodeStringCursor, DEFAULT_PAGE_SIZE, PageQuery, resourceList } from '../../common/resource-list';
import { InvalidError } from '../../common/domain-errors';
import { RequestAuthor } from '../../remote-configs/request-author.decorator';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { Roles } from '../roles.decorator';
import { CreateEnrollmentTokenDto } from './enrollment-token.dto';
import { EnrollmentToken } from './enrollment-token.schema';
import { EnrollmentTokensService } from './enrollment-tokens.service';
import { ApiJsonResponse, ApiProblemResponses, ApiSignedIn, ENROLLMENT_TOKEN_SCHEMA, listSchema, NEW_ENROLLMENT_TOKEN_SCHEMA } from '../../common/openapi';

const TOKEN_NAME_PARAM = {
  name: 'name',
  description: 'Name of the enrollment token (the id before the dot of its secret)',
  schema: { type: 'string' as const },
};

export function toEnrollmentTokenResource(t: EnrollmentToken, now = Date.now()) {
  return {
    kind: 'EnrollmentToken',
    apiVersion: 'v1',
    metadata: { name: t._id, createdAt: t.createdAt, createdBy: t.createdBy },
    spec: { description: t.description, labels: t.labels ?? {}, expiresAt: t.expiresAt ?? null },
    status: {
      state: t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt.getTime() <= now ? 'expired' : 'active',
      revokedAt: t.revokedAt ?? null,
      lastUsedAt: t.lastUsedAt ?? null,
    },
  };
}

/** Enrollment tokens for agents: `/api/v1/enrollment-tokens`, admins only. */
@ApiTags('enrollment-tokens')
@ApiSignedIn('admin')
@Roles('admin')
@Controller('enrollment-tokens')
export class EnrollmentTokensController {
  constructor(
    private readonly tokens: EnrollmentTokensService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Create an enrollment token; the answer carries the secret token, shown this once only',
    description: 'Without `spec.expiresAt` the token expires ENROLLMENT_TOKEN_TTL_DAYS (30) days after it is made. The body may be left out.',
  })
  @ApiJsonResponse(201, NEW_ENROLLMENT_TOKEN_SCHEMA, 'Created')
  @ApiProblemResponses(400, 503)
  @ApiBody({ type: CreateEnrollmentTokenDto, required: false })
  async create(@Body() body: CreateEnrollmentTokenDto, @RequestAuthor() author: string, @Req() req: { body?: unknown }) {
    // No body at all is allowed (the defaults); a JSON null is not an object.
    if (req.body === null) throw new InvalidError('The body must be an object (or left out)', { errors: [{ field: '', message: 'must be an object' }] });
    const spec = (body as CreateEnrollmentTokenDto | undefined)?.spec;
    // No token lives for ever by default: one leaked from an old install would admit agents indefinitely.
    const expiresAt = spec?.expiresAt ?? new Date(Date.now() + this.config.enrollmentTokenTtlDays * 86_400_000);
    const { doc, token } = await this.tokens.create({ ...spec, expiresAt }, author);
    return { ...toEnrollmentTokenResource(doc), token };
  }

  @Get()
  @ApiOperation({ summary: 'List enrollment tokens (never their secrets), a page at a time (limit + continue)' })
  @ApiJsonResponse(200, listSchema('EnrollmentTokenList', ENROLLMENT_TOKEN_SCHEMA))
  @ApiProblemResponses(400, 503)
  async list(@Query() q: PageQuery) {
    const { items, remaining } = await this.tokens.list(q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue));
    return resourceList(
      'EnrollmentTokenList',
      items.map((t) => toEnrollmentTokenResource(t)),
      remaining,
      items[items.length - 1]?._id,
    );
  }

  @Get(':name')
  @ApiOperation({ summary: 'One enrollment token (without its secret)' })
  @ApiParam(TOKEN_NAME_PARAM)
  @ApiJsonResponse(200, ENROLLMENT_TOKEN_SCHEMA)
  @ApiProblemResponses(404, 503)
  async get(@Param('name') name: string) {
    return toEnrollmentTokenResource(await this.tokens.get(name));
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Revoke an enrollment token: new connections with it are refused (connected agents stay)' })
  @ApiParam(TOKEN_NAME_PARAM)
  @ApiJsonResponse(200, ENROLLMENT_TOKEN_SCHEMA, 'Revoked (revoking again changes nothing)')
  @ApiProblemResponses(404, 503)
  async revoke(@Param('name') name: string) {
    return toEnrollmentTokenResource(await this.tokens.revoke(name));
  }
}
