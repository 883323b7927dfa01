import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decodeStringCursor, DEFAULT_PAGE_SIZE, PageQuery, resourceList } from '../../common/resource-list';
import { RequestAuthor } from '../../remote-configs/request-author.decorator';
import { Roles } from '../roles.decorator';
import { CreateEnrollmentTokenDto } from './enrollment-token.dto';
import { EnrollmentToken } from './enrollment-token.schema';
import { EnrollmentTokensService } from './enrollment-tokens.service';

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
@ApiBearerAuth()
@Roles('admin')
@Controller('enrollment-tokens')
export class EnrollmentTokensController {
  constructor(private readonly tokens: EnrollmentTokensService) {}

  @Post()
  @ApiOperation({ summary: 'Create an enrollment token; the answer carries the secret token, shown this once only' })
  async create(@Body() body: CreateEnrollmentTokenDto, @RequestAuthor() author: string) {
    const { doc, token } = await this.tokens.create(body.spec ?? {}, author);
    return { ...toEnrollmentTokenResource(doc), token };
  }

  @Get()
  @ApiOperation({ summary: 'List enrollment tokens (never their secrets), a page at a time (limit + continue)' })
  async list(@Query() q: PageQuery) {
    const { items, remaining } = await this.tokens.list(q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue));
    return resourceList('EnrollmentTokenList', items.map((t) => toEnrollmentTokenResource(t)), remaining, items[items.length - 1]?._id);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One enrollment token (without its secret)' })
  async get(@Param('name') name: string) {
    return toEnrollmentTokenResource(await this.tokens.get(name));
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Revoke an enrollment token: new connections with it are refused (connected agents stay)' })
  async revoke(@Param('name') name: string) {
    return toEnrollmentTokenResource(await this.tokens.revoke(name));
  }
}
