import { Command } from 'commander';
import { ApiClient, credentialsFrom } from '../api-client';
import { contextNameFor, Credentials, DEFAULT_SERVER, normaliseServer } from '../cli-config';
import { ApiError, CliError, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { OutputFormat, toJson, toYaml } from '../printers';
import { firstField, isObject, text } from '../resource-fields';
import { action, outputOption, ProgramContext, sleep } from './command-kit';

/** login (password, token, GitHub device flow), logout, whoami. */

/** Reads a password: all of stdin with --password-stdin, else a prompt without echo on the terminal. */
export async function readPassword(rt: CliRuntime, fromStdin: boolean, prompt = 'Password: '): Promise<string> {
  if (fromStdin) {
    const text = (await rt.readStdin()).replace(/\r?\n$/, '');
    if (!text) throw new UsageError('no password on stdin');
    return text;
  }
  const stdin = rt.io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') throw new UsageError('no terminal to ask for the password on; use --password-stdin');
  rt.io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      rt.io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new CliError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The server and the context a login writes to: `--server` makes (or updates) a context named after its host. */
function loginTarget(rt: CliRuntime): { name: string; server: string } {
  const g = rt.globals;
  const explicit = g.context ?? rt.io.env.OPAMPCTL_CONTEXT;
  const current = rt.store.currentContextName;
  // A new context named with --context starts from the current context's server.
  const base = (explicit && rt.store.context(explicit)) || (current ? rt.store.context(current) : undefined);
  const server = normaliseServer(g.server ?? rt.io.env.OPAMPCTL_SERVER ?? base?.server ?? DEFAULT_SERVER);
  const name = explicit ?? (g.server ? contextNameFor(server) : current) ?? contextNameFor(server);
  return { name, server };
}

function userName(me: unknown): string | undefined {
  const v = firstField(me, 'username', 'metadata.name', 'spec.username', 'user.username', 'login', 'name');
  return typeof v === 'string' ? v : undefined;
}

function roleText(me: unknown): string {
  const role = firstField(me, 'spec.role', 'role', 'spec.roles', 'roles');
  if (role === undefined) return '';
  return Array.isArray(role) ? `roles: ${text(role, '')}` : `role: ${text(role, '')}`;
}

/** The GitHub device flow through the server: ask for a code, show it, poll until the user approved it. */
async function githubDeviceLogin(rt: CliRuntime, client: ApiClient): Promise<Record<string, unknown>> {
  const { body: start } = await client.request<Record<string, unknown>>('POST', '/auth/github/device', { anonymous: true, body: {} });
  if (!isObject(start)) throw new CliError('the server did not start a GitHub device login');
  const deviceCode = firstField(start, 'deviceCode', 'device_code');
  const userCode = firstField(start, 'userCode', 'user_code');
  const uri = firstField(start, 'verificationUri', 'verification_uri', 'verificationUrl');
  const complete = firstField(start, 'verificationUriComplete', 'verification_uri_complete');
  let interval = Number(firstField(start, 'interval') ?? 5) * 1000;
  const expiresIn = Number(firstField(start, 'expiresIn', 'expires_in') ?? 900) * 1000;
  if (typeof deviceCode !== 'string' || typeof userCode !== 'string')
    throw new CliError('the server answered the GitHub device login without a device and user code');
  rt.err(`To log in with GitHub, open ${String(complete ?? uri ?? 'https://github.com/login/device')} and enter the code: ${userCode}`);
  rt.err('Waiting for approval…');
  const deadline = Date.now() + expiresIn;
  while (Date.now() < deadline) {
    await sleep(interval);
    try {
      const { body } = await client.request<Record<string, unknown>>('POST', '/auth/github/device/token', { anonymous: true, body: { deviceCode } });
      if (isObject(body) && firstField(body, 'accessToken', 'access_token')) return body;
      const state = String(firstField(body, 'status', 'error', 'state') ?? '');
      if (/slow/.test(state)) interval += 5000;
      else if (/denied|expired/.test(state)) throw new CliError(`GitHub login ${state.replace(/_/g, ' ')}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // RFC 8628 answers, passed on by the server as 400 problems with an `error` member.
      const code = String(err.problem.error ?? err.problem.code ?? '').toLowerCase();
      if (code === 'slow_down') interval = Number(err.problem.interval) > 0 ? Number(err.problem.interval) * 1000 : interval + 5000;
      else if (code !== 'authorization_pending' && err.status !== 428) throw err;
    }
  }
  throw new CliError('the GitHub device code expired before it was approved; run login again');
}

export function loginCommand(ctx: ProgramContext): Command {
  return new Command('login')
    .description('log in and cache the credentials in the context (with --server: a context named after its host)')
    .option('-u, --username <name>', 'log in with a user name and password (prompted for)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--token <token>', 'use an API token (- reads it from stdin)')
    .option('--github', 'log in with GitHub (device flow)')
    .action(
      action(ctx, async (rt, o: { username?: string; passwordStdin?: boolean; token?: string; github?: boolean }) => {
        const ways = [o.username !== undefined, o.token !== undefined, Boolean(o.github)].filter(Boolean).length;
        if (ways !== 1) throw new UsageError('login needs exactly one of --username, --token or --github');
        if (o.passwordStdin && o.username === undefined) throw new UsageError('--password-stdin goes with --username');
        const { name, server } = loginTarget(rt);
        const client = new ApiClient({ server, timeoutMs: rt.timeoutMs, trace: rt.globals.verbose ? (l) => rt.err(`> ${l}`) : undefined });
        let credentials: Credentials;
        if (o.username !== undefined) {
          const password = await readPassword(rt, Boolean(o.passwordStdin));
          const { body } = await client.request<Record<string, unknown>>('POST', '/auth/login', { anonymous: true, body: { username: o.username, password } });
          if (!isObject(body) || !firstField(body, 'accessToken', 'access_token')) throw new CliError('the server answered the login without an access token');
          credentials = { ...credentialsFrom(body), username: o.username, method: 'password' };
        } else if (o.token !== undefined) {
          const token = o.token === '-' ? (await rt.readStdin()).trim() : o.token;
          if (!token) throw new UsageError('the token is empty');
          credentials = { accessToken: token, method: 'token' };
          const check = new ApiClient({ server, credentials, timeoutMs: rt.timeoutMs });
          try {
            const me = await check.get('/auth/me');
            credentials.username = userName(me);
          } catch (err) {
            if (err instanceof ApiError && err.status === 404) rt.err('warning: the server has no /auth/me; the token is stored without being checked');
            else if (err instanceof ApiError && err.status === 401) throw new CliError('the server refused this token (401)');
            else throw err;
          }
        } else {
          const body = await githubDeviceLogin(rt, client);
          credentials = { ...credentialsFrom(body), method: 'github' };
          const withToken = new ApiClient({ server, credentials, timeoutMs: rt.timeoutMs });
          credentials.username = userName(await withToken.find('/auth/me')) ?? userName(body);
        }
        rt.store.setContext(name, server);
        rt.store.context(name)!.credentials = credentials;
        rt.store.useContext(name);
        rt.store.save();
        rt.out(`Logged in to ${server}${credentials.username ? ` as ${credentials.username}` : ''} (context "${name}").`);
      }),
    );
}

export function logoutCommand(ctx: ProgramContext): Command {
  return new Command('logout').description('end the session on the server and forget the cached credentials of the context').action(
    action(ctx, async (rt) => {
      const ctxEntry = rt.context;
      if (!ctxEntry?.credentials) {
        rt.out('Not logged in.');
        return;
      }
      const refreshToken = ctxEntry.credentials.refreshToken;
      try {
        await rt.client.request('POST', '/auth/logout', { body: refreshToken ? { refreshToken } : {} });
      } catch (err) {
        // The session may be gone already; the local credentials are removed either way.
        if (!(err instanceof ApiError) || ![401, 403, 404].includes(err.status))
          rt.err(`warning: the server did not confirm the logout: ${err instanceof Error ? err.message : String(err)}`);
      }
      delete ctxEntry.credentials;
      rt.store.save();
      rt.out(`Logged out of ${ctxEntry.server} (context "${ctxEntry.name}").`);
    }),
  );
}

export function whoamiCommand(ctx: ProgramContext): Command {
  return new Command('whoami')
    .description('show the user the current credentials belong to')
    .addOption(outputOption(['json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { output?: OutputFormat }) => {
        const me = await rt.client.get<Record<string, unknown>>('/auth/me');
        if (o.output === 'json') return rt.out(toJson(me));
        if (o.output === 'yaml') return rt.out(toYaml(me));
        const role = roleText(me);
        rt.out(`${userName(me) ?? '<unknown>'}${role ? ` (${role})` : ''} on ${rt.server}`);
      }),
    );
}
