import { Body, Controller, Get, HttpCode, HttpException, Inject, Post, Query, Redirect, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiJsonResponse, ApiProblemResponsesWith } from '../../common/openapi';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../auth.service';
import { DeviceTokenDto, TokenPairDto } from '../auth.dto';
import { Public } from '../public.decorator';
import { GithubOAuthService } from './github-oauth.service';
import { STATE_COOKIE } from './signed-state-store';
import { DomainError } from '../../common/domain-errors';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { isSecureRequest, refreshCookie } from '../refresh-cookie';

const COOKIE_PATH = '/api/v1/auth/github';

const NOT_CONFIGURED = {
  404: 'GitHub sign-in is not configured (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)',
  502: 'GitHub could not be reached or answered unexpectedly',
};

const DEVICE_START_SCHEMA = {
  type: 'object' as const,
  required: ['deviceCode', 'userCode', 'verificationUri', 'expiresIn', 'interval'],
  properties: {
    deviceCode: { type: 'string' as const, description: 'Pass to POST /api/v1/auth/github/device/token' },
    userCode: { type: 'string' as const, description: 'The code the user enters at verificationUri' },
    verificationUri: { type: 'string' as const },
    expiresIn: { type: 'integer' as const, description: 'Seconds the codes are valid' },
    interval: { type: 'integer' as const, description: 'Seconds to wait between polls' },
  },
};

function stateCookie(value: string, maxAge: number, secure: boolean): string {
  return `${STATE_COOKIE}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** Where the web flow sends the browser back to when sign-in was refused (the UI shows the message). */
export const WEB_SIGN_IN_ERROR_PARAM = 'signInError';

/** GitHub sign-in: the browser flow (redirect + callback) and the device flow for opampctl. */
@ApiTags('auth')
@Public()
@Controller('auth/github')
export class GithubAuthController {
  constructor(
    private readonly github: GithubOAuthService,
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Redirect()
  @ApiOperation({ summary: 'Start a GitHub sign-in in a browser: redirects to GitHub with a signed state (and sets its cookie)' })
  @ApiResponse({
    status: 302,
    description: "To GitHub's authorization page",
    headers: { Location: { required: true, schema: { type: 'string', format: 'uri' } }, 'Set-Cookie': { required: true, schema: { type: 'string' } } },
  })
  @ApiQuery({
    name: 'for',
    required: false,
    enum: ['web'],
    description: 'web: the web UI started it; the callback sets the session cookie and sends the browser to the UI',
  })
  @ApiProblemResponsesWith(NOT_CONFIGURED, 404, 502)
  async start(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Query('for') flow?: string) {
    const { url, nonce } = await this.github.authorizationRedirect(req, flow === 'web' ? 'web' : 'api');
    void reply.header('set-cookie', stateCookie(nonce, 600, this.github.callbackUrl(req).startsWith('https:')));
    return { url, statusCode: 302 };
  }

  @Get('callback')
  @ApiOperation({ summary: 'Where GitHub sends the browser back: checks the state, exchanges the code, signs the user in' })
  @ApiQuery({ name: 'code', required: false, schema: { type: 'string' }, description: 'Authorization code from GitHub' })
  @ApiQuery({ name: 'state', required: false, schema: { type: 'string' }, description: 'The signed state of the redirect' })
  @ApiQuery({ name: 'error', required: false, schema: { type: 'string' }, description: 'Set by GitHub when the user declined' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiProblemResponsesWith({ ...NOT_CONFIGURED, 401: 'No code, a bad or expired state, or GitHub refused the code or the user' }, 401, 404, 502, 503)
  async callback(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('set-cookie', stateCookie('', 0, this.github.callbackUrl(req).startsWith('https:')));
    const user = await this.github.callback(req);
    return this.auth.signedIn(user, 'github', req.ip);
  }

  @Get('callback/web')
  @Redirect()
  @ApiOperation({
    summary: 'Where GitHub sends the browser back to after a sign-in the web UI started: sets the session cookie and returns to the UI',
  })
  @ApiQuery({ name: 'code', required: false, schema: { type: 'string' }, description: 'Authorization code from GitHub' })
  @ApiQuery({ name: 'state', required: false, schema: { type: 'string' }, description: 'The signed state of the redirect' })
  @ApiQuery({ name: 'error', required: false, schema: { type: 'string' }, description: 'Set by GitHub when the user declined' })
  @ApiResponse({
    status: 302,
    description: 'To `/` with the session cookie set (as POST /auth/session does), or to `/sign-in?signInError=…` with why it was refused',
    headers: { Location: { required: true, schema: { type: 'string' } } },
  })
  async webCallback(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const cookies = [stateCookie('', 0, this.github.callbackUrl(req).startsWith('https:'))];
    try {
      const pair = await this.auth.signedIn(await this.github.callback(req, 'web'), 'github', req.ip);
      // The UI restores its session from this cookie when it loads (POST /auth/session/refresh).
      cookies.push(refreshCookie(pair.refreshToken, this.config.auth.refreshTokenTtlSeconds, isSecureRequest(req)));
      return { url: '/', statusCode: 302 };
    } catch (err) {
      // A refusal (or GitHub or the database unreachable) is shown on the sign-in page; anything else is a bug.
      if (!(err instanceof HttpException) && !(err instanceof DomainError)) throw err;
      const message = err instanceof HttpException ? problemText(err) : err.message;
      return { url: `/sign-in?${WEB_SIGN_IN_ERROR_PARAM}=${encodeURIComponent(message)}`, statusCode: 302 };
    } finally {
      void reply.header('set-cookie', cookies);
    }
  }

  @Post('device')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start a GitHub device sign-in (for the CLI): a user code to enter at the verification URI' })
  @ApiJsonResponse(200, DEVICE_START_SCHEMA)
  @ApiProblemResponsesWith(NOT_CONFIGURED, 404, 502)
  device() {
    return this.github.startDevice();
  }

  @Post('device/token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Poll a device sign-in: tokens once the code was entered on GitHub; 400 authorization_pending / slow_down until then' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiProblemResponsesWith(
    {
      ...NOT_CONFIGURED,
      400: 'Not a device code, or the sign-in is not complete yet: `error` is authorization_pending, slow_down (with `interval`), expired_token or access_denied',
    },
    400,
    401,
    404,
    502,
    503,
  )
  async deviceToken(@Body() body: DeviceTokenDto, @Req() req: FastifyRequest) {
    const user = await this.github.pollDevice(body.deviceCode);
    return this.auth.signedIn(user, 'github-device', req.ip);
  }
}

function problemText(err: HttpException): string {
  const body = err.getResponse();
  if (typeof body === 'string') return body;
  const detail = (body as { detail?: unknown; message?: unknown }).detail ?? (body as { message?: unknown }).message;
  return typeof detail === 'string' ? detail : err.message;
}
