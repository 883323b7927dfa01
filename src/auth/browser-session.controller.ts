import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProperty, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiEmptyResponse, ApiProblemResponses, ApiProblemResponsesWith, ApiSignedIn, REFRESH_COOKIE_SCHEME } from '../common/openapi';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ForbiddenError, UnauthorizedError } from '../common/domain-errors';
import { LoginDto } from './auth.dto';
import { AuthService } from './auth.service';
import { Public } from './public.decorator';
import { Roles } from './roles.decorator';
import { CSRF_HEADER, isSecureRequest, refreshCookie, refreshTokenOf } from './refresh-cookie';
import type { TokenPair } from './sessions.service';
import { AuthenticatedUser } from './user.schema';
import { GithubOAuthService } from './github/github-oauth.service';

/** Which ways of signing in the sign-in page offers. */
export class SignInProvidersDto {
  @ApiProperty({ description: 'User name and password (always)' })
  password: boolean;

  @ApiProperty({ description: 'GitHub, through GET /api/v1/auth/github?for=web (when GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set)' })
  github: boolean;
}

/** What the browser gets: the access token only; the refresh token went into the cookie. */
export class BrowserSessionDto {
  @ApiProperty({ description: 'Short-lived JWT for `Authorization: Bearer …`; keep it in memory' })
  accessToken: string;

  @ApiProperty({ description: 'When the access token expires', format: 'date-time' })
  expiresAt: string;
}

/** The header is required; any value with a character other than space or tab will do (an empty one counts as missing). */
const CSRF_DOC = {
  name: 'X-Requested-With',
  required: true,
  description: 'Any value; refused with 403 without it (CSRF protection of cookie-authenticated requests)',
  schema: { type: 'string', pattern: '[^ \\t]', example: 'XMLHttpRequest' },
} as const;

const SET_COOKIE = {
  'Set-Cookie': {
    required: true,
    description: 'The refresh token: `opamp_commander_refresh=…; Path=/api/v1/auth/session; HttpOnly; SameSite=Strict`',
    schema: { type: 'string' },
  },
} as const;

const NO_CSRF_HEADER = 'No X-Requested-With header';

/**
 * Sign-in for browsers (`/api/v1/auth/session`): the same password sign-in as /auth/login, but
 * the refresh token is kept in an HttpOnly, SameSite=Strict cookie instead of the answer, so
 * page scripts never see it. Refresh and sign-out read that cookie.
 */
@ApiTags('auth')
@Controller('auth/session')
export class BrowserSessionController {
  constructor(
    private readonly auth: AuthService,
    private readonly github: GithubOAuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Get('providers')
  @ApiOperation({ summary: 'The ways of signing in this server offers (for the sign-in page)' })
  @ApiOkResponse({ type: SignInProvidersDto })
  providers(): SignInProvidersDto {
    return { password: true, github: this.github.enabled };
  }

  @Public()
  @Post()
  @HttpCode(200)
  @ApiHeader(CSRF_DOC)
  @ApiOperation({ summary: 'Sign in with user name and password; the refresh token is set as an HttpOnly cookie' })
  @ApiOkResponse({ type: BrowserSessionDto, headers: SET_COOKIE })
  @ApiProblemResponsesWith({ 401: 'Wrong user name or password, or a disabled user', 403: NO_CSRF_HEADER }, 400, 401, 403, 429, 503)
  async login(@Body() body: LoginDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<BrowserSessionDto> {
    requireCsrfHeader(req);
    return this.answer(await this.auth.loginWithPassword(body.username, body.password, req.ip, 'password'), req, reply);
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiHeader(CSRF_DOC)
  @ApiSecurity(REFRESH_COOKIE_SCHEME)
  @ApiOperation({ summary: "Exchange the cookie's refresh token for a new access token; the cookie gets the next refresh token" })
  @ApiOkResponse({ type: BrowserSessionDto, headers: SET_COOKIE })
  @ApiProblemResponsesWith(
    { 401: 'No session cookie, or an unknown, used, expired or revoked refresh token (then the cookie is cleared)', 403: NO_CSRF_HEADER },
    401,
    403,
    429,
    503,
  )
  async refresh(
    @Headers('cookie') cookie: string | undefined,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BrowserSessionDto> {
    requireCsrfHeader(req);
    const token = refreshTokenOf(cookie);
    if (!token) throw new UnauthorizedError('No session cookie: sign in first.');
    try {
      return this.answer(await this.auth.refresh(token, req.ip), req, reply);
    } catch (err) {
      // A refused refresh token is of no further use: the browser forgets it.
      if (err instanceof UnauthorizedError) void reply.header('set-cookie', refreshCookie('', 0, isSecureRequest(req)));
      throw err;
    }
  }

  @Roles('viewer')
  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: ends the session of this access token and clears the refresh cookie' })
  @ApiSignedIn('viewer')
  @ApiEmptyResponse(204, 'Signed out; the cookie is cleared')
  @ApiProblemResponses(503)
  async logout(@Req() req: FastifyRequest & { user: AuthenticatedUser }, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    void reply.header('set-cookie', refreshCookie('', 0, isSecureRequest(req)));
    await this.auth.logout(req.user, req.ip);
  }

  private answer(pair: TokenPair, req: FastifyRequest, reply: FastifyReply): BrowserSessionDto {
    void reply.header('set-cookie', refreshCookie(pair.refreshToken, this.config.auth.refreshTokenTtlSeconds, isSecureRequest(req)));
    return { accessToken: pair.accessToken, expiresAt: pair.expiresAt };
  }
}

function requireCsrfHeader(req: FastifyRequest): void {
  if (!req.headers[CSRF_HEADER]) throw new ForbiddenError('Requests authenticated by the session cookie must carry an X-Requested-With header.');
}
