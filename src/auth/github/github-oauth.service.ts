import { createHmac } from 'node:crypto';
import { BadGatewayException, Inject, Injectable, Logger } from '@nestjs/common';
import { Strategy as GitHubStrategy } from 'passport-github2';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { InvalidError, NotFoundError, UnauthorizedError } from '../../common/domain-errors';
import { JWT_SIGNING_SECRET } from '../jwt-secret';
import { User } from '../user.schema';
import { GithubIdentity, UsersService } from '../users.service';
import type { StateStore, StateStoreStoreCallback, StateStoreVerifyCallback } from 'passport-oauth2';
import { asPassportRequest, runStrategy } from './run-strategy';
import { SignedStateStore, StateRequest } from './signed-state-store';

/** read:user for the profile, read:org to see private organisation memberships. */
const SCOPES = ['read:user', 'read:org'];
const USER_AGENT = 'opamp-commander';
const CALLBACK_PATH = '/api/v1/auth/github/callback';

/** api: the callback answers the token pair as JSON; web: it signs the web UI in through its session cookie. */
export type GithubFlow = 'api' | 'web';
const FETCH_TIMEOUT_MS = 15_000;

/** What GitHub's device endpoint answers, as the CLI gets it. */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresIn: number;
  interval: number;
}

/** What the verify callback of the strategy hands back: GitHub's token and passport-github2's profile. */
interface GithubSignIn {
  accessToken: string;
  profile: { id: string; username?: string };
}

/**
 * GitHub sign-in. The web flow runs passport-github2 (authorization URL, signed state, code
 * exchange, profile mapping) through runStrategy, so that no passport code writes to a Fastify
 * reply. The device flow (for opampctl) is not part of passport: its two POSTs are made here,
 * and the profile is then read with the same passport-github2 strategy. Either way the account
 * must pass the organisation allow-list (or be linked to a user by an admin).
 */
@Injectable()
export class GithubOAuthService {
  private readonly logger = new Logger('GitHubAuth');
  private readonly strategy?: GitHubStrategy;
  private readonly stateStore: SignedStateStore;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(JWT_SIGNING_SECRET) jwtSecret: string,
    private readonly users: UsersService,
  ) {
    // The state key is derived from the JWT secret, so it is never the signing key itself.
    this.stateStore = new SignedStateStore(createHmac('sha256', jwtSecret).update('github-oauth-state').digest());
    const gh = config.auth.github;
    if (gh.clientId && gh.clientSecret) {
      this.strategy = new GitHubStrategy(
        {
          clientID: gh.clientId,
          clientSecret: gh.clientSecret,
          callbackURL: config.auth.publicUrl ? `${config.auth.publicUrl}${CALLBACK_PATH}` : CALLBACK_PATH,
          scope: SCOPES,
          scopeSeparator: ' ',
          userAgent: USER_AGENT,
          authorizationURL: `${gh.baseUrl}/login/oauth/authorize`,
          tokenURL: `${gh.baseUrl}/login/oauth/access_token`,
          userProfileURL: `${gh.apiUrl}/user`,
          userEmailURL: `${gh.apiUrl}/user/emails`,
          store: passportStateStore(this.stateStore),
        },
        (accessToken: string, _refreshToken: string, profile: GithubSignIn['profile'], done: (err: Error | null, user?: GithubSignIn) => void) =>
          done(null, { accessToken, profile }),
      );
    }
  }

  get enabled(): boolean {
    return this.strategy !== undefined;
  }

  /**
   * The URL GitHub sends the browser back to. The web UI's flow comes back one level below the
   * registered callback URL, which GitHub allows for redirect_uri, so one OAuth app serves both.
   */
  callbackUrl(req: FastifyRequest, flow: GithubFlow = 'api'): string {
    return `${this.config.auth.publicUrl ?? `${req.protocol}://${req.host}`}${CALLBACK_PATH}${flow === 'web' ? '/web' : ''}`;
  }

  /** Step 1 of the web flow: where to send the browser, and the nonce for the state cookie. */
  async authorizationRedirect(req: FastifyRequest, flow: GithubFlow = 'api'): Promise<{ url: string; nonce: string }> {
    const strategy = this.require();
    const outcome = await runStrategy(strategy, asPassportRequest(req), { callbackURL: this.callbackUrl(req, flow) });
    const nonce = (req as FastifyRequest & { oauthStateNonce?: string }).oauthStateNonce;
    if (outcome.kind !== 'redirect' || !nonce) throw new BadGatewayException('Could not start the GitHub sign-in.');
    return { url: outcome.url, nonce };
  }

  /** Step 2 of the web flow: state checked, code exchanged, profile read, user found or created. */
  async callback(req: FastifyRequest, flow: GithubFlow = 'api'): Promise<User> {
    const strategy = this.require();
    const query = (req.query ?? {}) as Record<string, unknown>;
    if (!query.code && !query.error) throw new UnauthorizedError('The GitHub callback carries no authorization code.');
    const outcome = await runStrategy(strategy, asPassportRequest(req), { callbackURL: this.callbackUrl(req, flow) });
    switch (outcome.kind) {
      case 'success':
        return this.signIn(outcome.user as GithubSignIn);
      case 'fail': {
        const message = (outcome.challenge as { message?: string } | undefined)?.message;
        throw new UnauthorizedError(
          outcome.status === 403 ? (message ?? 'The OAuth state is not valid.') : `GitHub sign-in was denied${message ? `: ${message}` : '.'}`,
        );
      }
      case 'error':
        throw this.exchangeError(outcome.error);
      default:
        throw new UnauthorizedError('The GitHub sign-in did not complete.');
    }
  }

  /** Device flow, step 1: a user code for the person at the CLI to enter on GitHub. */
  async startDevice(): Promise<DeviceAuthorization> {
    this.require();
    const gh = this.config.auth.github;
    const json = await this.postForm(`${gh.baseUrl}/login/device/code`, { client_id: gh.clientId!, scope: SCOPES.join(' ') });
    if (typeof json.device_code !== 'string' || typeof json.user_code !== 'string') {
      throw new BadGatewayException(`GitHub refused to start the device flow${typeof json.error === 'string' ? `: ${json.error}` : ''}.`);
    }
    return {
      deviceCode: json.device_code,
      userCode: json.user_code,
      verificationUri: String(json.verification_uri ?? `${gh.baseUrl}/login/device`),
      expiresIn: Number(json.expires_in ?? 900),
      interval: Number(json.interval ?? 5),
    };
  }

  /**
   * Device flow, step 2 (polled): the user once GitHub says the code was entered; until then
   * 400 with `error` authorization_pending or slow_down, as RFC 8628's token endpoint answers.
   */
  async pollDevice(deviceCode: string): Promise<User> {
    this.require();
    const gh = this.config.auth.github;
    const json = await this.postForm(`${gh.baseUrl}/login/oauth/access_token`, {
      client_id: gh.clientId!,
      device_code: deviceCode,
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    });
    if (typeof json.access_token === 'string' && json.access_token) {
      const profile = await this.profile(json.access_token);
      return this.signIn({ accessToken: json.access_token, profile });
    }
    const error = typeof json.error === 'string' ? json.error : 'unknown_error';
    const messages: Record<string, string> = {
      authorization_pending: 'The code has not been entered on GitHub yet; poll again after the interval.',
      slow_down: 'Polling too fast; poll again after the (longer) interval.',
      expired_token: 'The device code has expired; start again with POST /api/v1/auth/github/device.',
      access_denied: 'The sign-in was denied on GitHub.',
      incorrect_device_code: 'The device code is not valid.',
    };
    if (error in messages) throw new InvalidError(messages[error], { error, ...(json.interval ? { interval: Number(json.interval) } : {}) });
    throw new UnauthorizedError(`GitHub did not complete the device sign-in (${error.slice(0, 64)}).`);
  }

  /** Organisation check, then the user the account signs in as. */
  private async signIn(signIn: GithubSignIn): Promise<User> {
    const identity: GithubIdentity = { id: String(signIn.profile.id), login: String(signIn.profile.username ?? '') };
    if (!identity.id || !identity.login) throw new UnauthorizedError('GitHub did not return a user profile.');
    const allowed = this.config.auth.github.allowedOrgs;
    const member = allowed.length > 0 && (await this.organisations(signIn.accessToken)).some((o) => allowed.includes(o));
    return this.users.signInWithGithub(identity, member);
  }

  /** The signed-in account's organisations (lower case), following pagination. */
  private async organisations(accessToken: string): Promise<string[]> {
    const orgs: string[] = [];
    let url: string | undefined = `${this.config.auth.github.apiUrl}/user/orgs?per_page=100`;
    for (let page = 0; url && page < 10; page++) {
      const res = await this.fetch(url, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/vnd.github+json', 'user-agent': USER_AGENT },
      });
      if (!res.ok) throw new BadGatewayException(`GitHub answered ${res.status} when asked for the user's organisations.`);
      const list = (await res.json()) as { login?: unknown }[];
      for (const o of Array.isArray(list) ? list : []) if (typeof o.login === 'string') orgs.push(o.login.toLowerCase());
      url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    }
    return orgs;
  }

  /** The account's profile, mapped by passport-github2. */
  private profile(accessToken: string): Promise<GithubSignIn['profile']> {
    return new Promise((resolve, reject) =>
      this.require().userProfile(accessToken, (err, profile) =>
        err || !profile ? reject(this.exchangeError(err ?? new Error('no profile'))) : resolve(profile),
      ),
    );
  }

  private async postForm(url: string, form: Record<string, string>): Promise<Record<string, unknown>> {
    const res = await this.fetch(url, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': USER_AGENT },
      body: new URLSearchParams(form).toString(),
    });
    try {
      return (await res.json()) as Record<string, unknown>;
    } catch {
      throw new BadGatewayException(`GitHub answered ${res.status} with a body that is not JSON.`);
    }
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (err) {
      this.logger.warn(`GitHub request to ${new URL(url).origin} failed: ${(err as Error).message}`);
      throw new BadGatewayException('GitHub could not be reached.');
    }
  }

  /** A failed code exchange or profile read: refused (401) when GitHub said no, 502 when it could not be reached. */
  private exchangeError(err: unknown): Error {
    const e = err as { name?: string; message?: string; code?: string; oauthError?: { statusCode?: number; code?: string } };
    const unreachable = e?.oauthError?.code === 'ECONNREFUSED' || e?.oauthError?.code === 'ENOTFOUND' || e?.code === 'ECONNREFUSED';
    if (unreachable) return new BadGatewayException('GitHub could not be reached.');
    this.logger.warn(`GitHub sign-in refused: ${e?.name ?? 'Error'}: ${e?.message ?? ''}`);
    return new UnauthorizedError('GitHub did not accept the authorization code.');
  }

  private require(): GitHubStrategy {
    if (!this.strategy) throw new NotFoundError('GitHub sign-in is not configured (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET).');
    return this.strategy;
  }
}

/**
 * The signed state store in the shape passport-oauth2 declares (its methods take the metadata
 * argument or not); passport-oauth2 always passes it, and the store ignores it.
 */
function passportStateStore(store: SignedStateStore): StateStore {
  const last = <T>(args: unknown[]) => args[args.length - 1] as T;
  return {
    store: (req: StateRequest, ...rest: unknown[]) => store.store(req, undefined, last<StateStoreStoreCallback>(rest)),
    verify: (req: StateRequest, state: string, ...rest: unknown[]) => store.verify(req, state, undefined, last<StateStoreVerifyCallback>(rest)),
  };
}
