import { Body, Controller, Get, HttpCode, Post, Redirect, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../auth.service';
import { DeviceTokenDto, TokenPairDto } from '../auth.dto';
import { Public } from '../public.decorator';
import { GithubOAuthService } from './github-oauth.service';
import { STATE_COOKIE } from './signed-state-store';

const COOKIE_PATH = '/api/v1/auth/github';

function stateCookie(value: string, maxAge: number, secure: boolean): string {
  return `${STATE_COOKIE}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** GitHub sign-in: the browser flow (redirect + callback) and the device flow for opampctl. */
@ApiTags('auth')
@Public()
@Controller('auth/github')
export class GithubAuthController {
  constructor(
    private readonly github: GithubOAuthService,
    private readonly auth: AuthService,
  ) {}

  @Get()
  @Redirect()
  @ApiOperation({ summary: 'Start a GitHub sign-in in a browser: redirects to GitHub with a signed state (and sets its cookie)' })
  async start(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { url, nonce } = await this.github.authorizationRedirect(req);
    void reply.header('set-cookie', stateCookie(nonce, 600, this.github.callbackUrl(req).startsWith('https:')));
    return { url, statusCode: 302 };
  }

  @Get('callback')
  @ApiOperation({ summary: 'Where GitHub sends the browser back: checks the state, exchanges the code, signs the user in' })
  @ApiOkResponse({ type: TokenPairDto })
  async callback(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('set-cookie', stateCookie('', 0, this.github.callbackUrl(req).startsWith('https:')));
    const user = await this.github.callback(req);
    return this.auth.signedIn(user, 'github', req.ip);
  }

  @Post('device')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start a GitHub device sign-in (for the CLI): a user code to enter at the verification URI' })
  device() {
    return this.github.startDevice();
  }

  @Post('device/token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Poll a device sign-in: tokens once the code was entered on GitHub; 400 authorization_pending / slow_down until then' })
  @ApiOkResponse({ type: TokenPairDto })
  async deviceToken(@Body() body: DeviceTokenDto, @Req() req: FastifyRequest) {
    const user = await this.github.pollDevice(body.deviceCode);
    return this.auth.signedIn(user, 'github-device', req.ip);
  }
}
