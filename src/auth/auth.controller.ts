import { Body, Controller, Get, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEmptyResponse, ApiJsonResponse, ApiProblemResponses, ApiProblemResponsesWith, ApiSignedIn, USER_SCHEMA } from '../common/openapi';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../common/domain-errors';
import { AuthService } from './auth.service';
import { LoginDto, RefreshDto, TokenPairDto } from './auth.dto';
import { Public } from './public.decorator';
import { Roles } from './roles.decorator';
import { AuthenticatedUser } from './user.schema';
import { toUserResource } from './user.mapper';
import { UsersService } from './users.service';

type AuthedRequest = FastifyRequest & { user: AuthenticatedUser };

const BASIC_CHALLENGE = 'Basic realm="opamp-commander", charset="UTF-8"';

function basicCredentials(header: string | undefined): { username: string; password: string } {
  const refuse = (message: string) => Object.assign(new UnauthorizedError(message), { challenge: BASIC_CHALLENGE });
  if (!header) throw refuse('Missing credentials: send Authorization: Basic <base64 of user:password>.');
  const m = /^Basic[ ]+([A-Za-z0-9+/=]+)[ ]*$/i.exec(header);
  const text = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const colon = text.indexOf(':');
  if (colon <= 0 || colon > 128 || text.length - colon - 1 > 1024) throw refuse('The Authorization header must be "Basic <base64 of user:password>".');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Sign-in, token refresh, sign-out and who am I: `/api/v1/auth`. */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with user name and password: an access token (JWT) and a refresh token' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiProblemResponsesWith({ 401: 'Wrong user name or password, or a disabled user' }, 400, 401, 429, 503)
  login(@Body() body: LoginDto, @Req() req: FastifyRequest) {
    return this.auth.loginWithPassword(body.username, body.password, req.ip, 'password');
  }

  @Public()
  @Get('basic')
  @ApiBasicAuth('basic')
  @ApiOperation({ summary: 'Sign in with HTTP Basic credentials: an access token (JWT) and a refresh token' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiProblemResponsesWith({ 401: 'Missing or malformed Basic credentials, a wrong user name or password; `WWW-Authenticate: Basic`' }, 401, 429, 503)
  async basic(@Headers('authorization') authorization: string | undefined, @Req() req: FastifyRequest) {
    const { username, password } = basicCredentials(authorization);
    try {
      return await this.auth.loginWithPassword(username, password, req.ip, 'basic');
    } catch (err) {
      if (err instanceof UnauthorizedError) err.challenge = BASIC_CHALLENGE;
      throw err;
    }
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange a refresh token for a new pair; the old refresh token stops working, and using it again ends the session' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiProblemResponsesWith({ 401: 'An unknown, used, expired or revoked refresh token' }, 400, 401, 429, 503)
  refresh(@Body() body: RefreshDto, @Req() req: FastifyRequest) {
    return this.auth.refresh(body.refreshToken, req.ip);
  }

  @Roles('viewer')
  @Post('logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'End the session of this access token (its refresh token and every access token of it stop working)' })
  @ApiSignedIn('viewer')
  @ApiEmptyResponse(204, 'Signed out')
  @ApiProblemResponses(503)
  async logout(@Req() req: AuthedRequest): Promise<void> {
    await this.auth.logout(req.user, req.ip);
  }

  @Get('me')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, USER_SCHEMA)
  @ApiProblemResponses(503)
  async me(@Req() req: AuthedRequest) {
    return toUserResource(await this.users.get(req.user.username));
  }
}
