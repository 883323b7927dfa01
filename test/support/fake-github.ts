import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An account of the fake GitHub. */
export interface FakeGithubUser {
  id: number;
  login: string;
  name?: string;
  orgs: string[];
}

interface DeviceGrant {
  userCode: string;
  login?: string;
  denied?: boolean;
  expiresAt: number;
}

/**
 * A small GitHub on loopback speaking the real HTTP exchange of the OAuth web flow, the device
 * flow and the two REST calls the server makes: GET /login/oauth/authorize (approves at once
 * as `approveAs`, like a user who already granted the app), POST /login/oauth/access_token
 * (authorization codes and device codes; answers 200 with an `error` field on failure, form-
 * encoded unless JSON is accepted, as GitHub does), POST /login/device/code, GET /user,
 * GET /user/orgs.
 */
export class FakeGithub {
  readonly users = new Map<string, FakeGithubUser>();
  /** The account /login/oauth/authorize signs in as; undefined: the user clicks "Cancel". */
  approveAs?: string;
  /** Every request received, without bodies: what a test may assert about (never secrets). */
  readonly requests: { method: string; path: string }[] = [];
  private readonly codes = new Map<string, { login: string; redirectUri: string; used: boolean }>();
  private readonly tokens = new Map<string, string>();
  private readonly devices = new Map<string, DeviceGrant>();

  private constructor(
    private readonly server: Server,
    readonly clientId: string,
    readonly clientSecret: string,
  ) {}

  static async start(clientId = 'fake-client-id', clientSecret = 'fake-client-secret-123'): Promise<FakeGithub> {
    const holder: { fake?: FakeGithub } = {};
    const server = createServer((req, res) => void holder.fake!.handle(req, res));
    const fake = (holder.fake = new FakeGithub(server, clientId, clientSecret));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  addUser(user: FakeGithubUser): void {
    this.users.set(user.login, user);
  }

  /** The person at the browser entered `userCode` on GitHub and approved (or denied) the device. */
  approveDevice(userCode: string, login: string | undefined, deny = false): void {
    for (const grant of this.devices.values()) {
      if (grant.userCode === userCode) {
        grant.login = login;
        grant.denied = deny;
      }
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? '', path: url.pathname });
    const body = await readForm(req);
    const wantsJson = (req.headers.accept ?? '').includes('json');
    const answer = (obj: Record<string, unknown>, status = 200) => {
      if (wantsJson) {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(obj));
      } else {
        res
          .writeHead(status, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })
          .end(new URLSearchParams(obj as Record<string, string>).toString());
      }
    };
    const json = (obj: unknown, status = 200): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(obj));
    };

    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      const state = url.searchParams.get('state');
      if (url.searchParams.get('client_id') !== this.clientId || !redirectUri) return void res.writeHead(404).end('unknown application');
      const back = new URL(redirectUri);
      if (state !== null) back.searchParams.set('state', state);
      if (!this.approveAs) {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The user has denied your application access.');
      } else {
        const code = randomBytes(10).toString('hex');
        this.codes.set(code, { login: this.approveAs, redirectUri, used: false });
        back.searchParams.set('code', code);
      }
      return void res.writeHead(302, { location: back.toString() }).end();
    }

    if (req.method === 'POST' && url.pathname === '/login/device/code') {
      if (body.client_id !== this.clientId) return answer({ error: 'Not Found' }, 404);
      const deviceCode = randomBytes(20).toString('hex');
      const userCode = `${randomBytes(2).toString('hex')}-${randomBytes(2).toString('hex')}`.toUpperCase();
      this.devices.set(deviceCode, { userCode, expiresAt: Date.now() + 900_000 });
      return answer({ device_code: deviceCode, user_code: userCode, verification_uri: `${this.url}/login/device`, expires_in: 900, interval: 5 });
    }

    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      if (body.client_id !== this.clientId) return answer({ error: 'incorrect_client_credentials' });
      if (body.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
        const grant = this.devices.get(body.device_code ?? '');
        if (!grant) return answer({ error: 'incorrect_device_code' });
        if (grant.expiresAt < Date.now()) return answer({ error: 'expired_token' });
        if (grant.denied) return answer({ error: 'access_denied' });
        if (!grant.login) return answer({ error: 'authorization_pending', interval: '5' });
        this.devices.delete(body.device_code!);
        return answer(this.issueToken(grant.login));
      }
      if (body.client_secret !== this.clientSecret) return answer({ error: 'incorrect_client_credentials' });
      const grant = this.codes.get(body.code ?? '');
      if (!grant || grant.used || (body.redirect_uri && body.redirect_uri !== grant.redirectUri)) {
        return answer({ error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      }
      grant.used = true;
      return answer(this.issueToken(grant.login));
    }

    const login = this.tokens.get(/^(?:Bearer|token) (\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const user = login ? this.users.get(login) : undefined;
    if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/orgs')) {
      if (!user) return json({ message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' }, 401);
      if (url.pathname === '/user') {
        return json({
          login: user.login,
          id: user.id,
          node_id: `U_${user.id}`,
          avatar_url: '',
          html_url: `https://github.com/${user.login}`,
          name: user.name ?? null,
          email: null,
          type: 'User',
        });
      }
      return json(user.orgs.map((o, i) => ({ login: o, id: 1000 + i, url: `${this.url}/orgs/${o}` })));
    }
    json({ message: 'Not Found' }, 404);
  }

  private issueToken(login: string): Record<string, string> {
    const token = `gho_${randomBytes(18).toString('hex')}`;
    this.tokens.set(token, login);
    return { access_token: token, token_type: 'bearer', scope: 'read:org,read:user' };
  }
}

async function readForm(req: IncomingMessage): Promise<Record<string, string | undefined>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  if ((req.headers['content-type'] ?? '').includes('json')) return JSON.parse(text) as Record<string, string>;
  return Object.fromEntries(new URLSearchParams(text));
}
