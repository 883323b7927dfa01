import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { ROOT } from './support/process';
import * as testServer from './support/test-server';

/**
 * opampctl end to end: the built binary (dist/src/cli/main.js) run as a child process against
 * the real server, with its own config file, driving a real opamp-go agent over WebSocket:
 * contexts, login/refresh/logout (password and the GitHub device flow against a local fake
 * GitHub), apply from a multi-document file, get/describe in every output format, a watch that
 * sees the agent take its config, wait, update, diff, rollback, restart, edit, labels, tokens,
 * users, audit, completion, and errors as one line with exit codes 1 and 2.
 */

const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** Authentication ships in src/auth; without it the login tests are skipped (and say so). */
const AUTH = fs.existsSync(path.join(ROOT, 'src', 'auth'));
const authIt = AUTH ? it : it.skip;
if (!AUTH) console.log('opampctl e2e: src/auth is not in the tree, so login/logout/whoami, tokens, users, audit and refresh tests are skipped');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fake GitHub on loopback (OAuth device flow and the /user API), as the server's GitHub sign-in calls it. */
function fakeGithub(): Promise<{ url: string; close: () => Promise<void>; polls: () => number }> {
  let polls = 0;
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const json = (doc: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(doc));
      };
      if (req.method === 'POST' && req.url === '/login/device/code') {
        return json({
          device_code: 'device-code-1',
          user_code: 'WDJB-MJHT',
          verification_uri: 'https://github.example/login/device',
          expires_in: 120,
          interval: 1,
        });
      }
      if (req.method === 'POST' && req.url === '/login/oauth/access_token') {
        polls++;
        // The user enters the code after the first poll.
        return json(polls < 2 ? { error: 'authorization_pending' } : { access_token: 'gho_fake', token_type: 'bearer', scope: 'read:user,read:org' });
      }
      if (req.method === 'GET' && req.url?.startsWith('/user')) {
        return req.url === '/user' ? json({ id: 4242, login: 'octocat', name: 'The Octocat' }) : json([]);
      }
      res.writeHead(404).end();
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => new Promise((r) => srv.close(() => r())), polls: () => polls }),
    ),
  );
}

describe('opampctl against a real server', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the server shape depends on whether auth has landed
  let server: any;
  let github: Awaited<ReturnType<typeof fakeGithub>>;
  let dir: string;
  let configFile: string;
  let serverUrl: string;
  const agents: GoAgent[] = [];
  let agent: GoAgent;
  let uid: string;

  /** Runs the built opampctl; `input` goes to its stdin. */
  function run(
    args: string[],
    opts: { input?: string; env?: Record<string, string>; timeoutMs?: number; onStderr?: (stderr: string) => void } = {},
  ): Promise<Run> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OPAMPCTL_') && k !== 'COLUMNS' && v !== undefined) env[k] = v;
    Object.assign(env, { OPAMPCTL_CONFIG: configFile, NO_COLOR: '1', HOME: dir }, opts.env ?? {});
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        opts.onStderr?.(stderr);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  }

  /** Runs opampctl and expects success. */
  async function ok(args: string[], opts: Parameters<typeof run>[1] = {}): Promise<string> {
    const r = await run(args, opts);
    if (r.code !== 0) throw new Error(`opampctl ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    return r.stdout;
  }

  const lines = (text: string) => text.split('\n').filter(Boolean);
  const writeFile = (name: string, content: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const readConfig = () => parse(fs.readFileSync(configFile, 'utf8'));
  const configBodies = (a: GoAgent) => a.events.filter((e) => e.event === 'remote_config').map((e) => (e.config as Record<string, { body: string }>)['']?.body);

  const FLEET = `# a group and the remote config it assigns, in one file
apiVersion: v1
kind: AgentGroup
metadata:
  name: checkout
  labels:
    team: payments
spec:
  selector: service.name=checkout
  priority: 10
  configs:
    - fileName: ""
      remoteConfig: collector-base
---
apiVersion: v1
kind: RemoteConfig
metadata:
  name: collector-base
spec:
  contentType: application/yaml
  description: base collector
  body: |
    receivers:
      otlp:
        protocols:
          grpc: {}
`;

  beforeAll(async () => {
    // The CLI is built on its own (it imports nothing of the server), so this does not depend
    // on the rest of the tree compiling; tsc's incremental build makes a rebuild quick.
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'src', 'cli', 'tsconfig.cli.json')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    goAgentBinary();
    github = await fakeGithub();
    server = await testServer.startTestServer({
      OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1',
      ...(AUTH
        ? { GITHUB_CLIENT_ID: 'opampctl-e2e', GITHUB_CLIENT_SECRET: 'opampctl-e2e-secret', GITHUB_BASE_URL: github.url, GITHUB_API_URL: github.url }
        : {}),
    });
    serverUrl = server.baseUrl ?? `http://127.0.0.1:${server.apiPort}`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opampctl-e2e-'));
    configFile = path.join(dir, 'config', 'opampctl.yaml');
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
    await github?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('manages contexts in its own config file', async () => {
    expect(await ok(['version', '--client'])).toMatch(/^Client Version: \d+\.\d+\.\d+/);
    expect(await ok(['config', 'set-context', 'e2e', '--server', serverUrl, '--current'])).toBe('Context "e2e" created.\n');
    await ok(['config', 'set-context', 'other', '--server', 'http://127.0.0.1:39']);
    expect(lines(await ok(['config', 'get-contexts']))).toEqual([
      expect.stringMatching(/^CURRENT\s+NAME\s+SERVER/),
      expect.stringMatching(new RegExp(`^\\*\\s+e2e\\s+${serverUrl.replace(/[.]/g, '\\.')}$`)),
      expect.stringMatching(/^\s+other\s+http:\/\/127\.0\.0\.1:39$/),
    ]);
    expect(await ok(['config', 'use-context', 'other'])).toBe('Switched to context "other".\n');
    expect(await ok(['config', 'current-context'])).toBe('other\n');
    await ok(['config', 'use-context', 'e2e']);
    expect(readConfig()).toMatchObject({ currentContext: 'e2e', contexts: [{ name: 'e2e', server: serverUrl }, { name: 'other' }] });
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    expect(await ok(['version'])).toMatch(new RegExp(`^Client Version: .+\\nServer Version: \\d+\\.\\d+\\.\\d+.* at ${serverUrl.replace(/[.]/g, '\\.')}\\n$`));
    // The other context's server is unreachable: one line, exit 1.
    const down = await run(['--context', 'other', 'get', 'agents']);
    expect(down.code).toBe(1);
    expect(lines(down.stderr)).toEqual([expect.stringMatching(/^error: cannot reach the server at http:\/\/127\.0\.0\.1:39: /)]);
  });

  authIt('logs in with a password from stdin and caches the tokens with mode 0600', async () => {
    const before = await run(['get', 'agentgroups']);
    expect(before.code).toBe(1);
    expect(lines(before.stderr)).toEqual([expect.stringMatching(/^Error from server \(401 Unauthorized\): .*log in with "opampctl login"$/)]);

    const bad = await run(['login', '--username', testServer.TEST_ADMIN.username, '--password-stdin'], { input: 'wrong password\n' });
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toEqual([expect.stringMatching(/^Error from server \(401 Unauthorized\)/)]);

    const out = await ok(['login', '--username', testServer.TEST_ADMIN.username, '--password-stdin'], { input: `${testServer.TEST_ADMIN.password}\n` });
    expect(out).toBe(`Logged in to ${serverUrl} as admin (context "e2e").\n`);
    const ctx = readConfig().contexts[0];
    expect(ctx.credentials).toMatchObject({
      username: 'admin',
      method: 'password',
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresAt: expect.any(String),
    });
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    const view = await ok(['config', 'view']);
    expect(view).toContain('accessToken: REDACTED');
    expect(view).not.toContain(ctx.credentials.accessToken);
    expect(await ok(['whoami'])).toBe(`admin (role: admin) on ${serverUrl}\n`);
    expect(JSON.parse(await ok(['whoami', '-o', 'json']))).toMatchObject({ kind: 'User', metadata: { name: 'admin' } });

    // A token (read from stdin) is checked with /auth/me and stored without a refresh token.
    expect(await ok(['login', '--token', '-', '--context', 'tok'], { input: `${server.token}\n` })).toBe(
      `Logged in to ${serverUrl} as admin (context "tok").\n`,
    );
    expect(readConfig().contexts.find((c: { name: string }) => c.name === 'tok').credentials).toEqual({
      accessToken: server.token,
      method: 'token',
      username: 'admin',
    });
    const refused = await run(['login', '--token', 'not-a-valid-token', '--context', 'tok']);
    expect([refused.code, lines(refused.stderr)]).toEqual([1, ['error: the server refused this token (401)']]);
    await ok(['config', 'use-context', 'e2e']);
  });

  it('applies a group and a remote config from one YAML file, idempotently', async () => {
    const file = writeFile('fleet.yaml', FLEET);
    expect(await ok(['apply', '-f', file])).toBe('remoteconfig/collector-base created\nagentgroup/checkout created\n');
    expect(await ok(['apply', '-f', file])).toBe('remoteconfig/collector-base unchanged\nagentgroup/checkout unchanged\n');
    writeFile('fleet.yaml', FLEET.replace('priority: 10', 'priority: 20'));
    expect(await ok(['apply', '-f', file, '-m', 'raise priority'])).toBe('remoteconfig/collector-base unchanged\nagentgroup/checkout configured\n');
    // A directory and stdin work the same way.
    expect(await ok(['apply', '-f', '-'], { input: fs.readFileSync(file, 'utf8') })).toBe(
      'remoteconfig/collector-base unchanged\nagentgroup/checkout unchanged\n',
    );
    expect(await ok(['apply', '-f', dir, '--dry-run'])).toBe('remoteconfig/collector-base unchanged (dry run)\nagentgroup/checkout unchanged (dry run)\n');
  });

  it('gets and describes them in every output format', async () => {
    const table = lines(await ok(['get', 'agentgroups']));
    expect(table[0].split(/\s{3,}/)).toEqual(['NAME', 'SELECTOR', 'PRIORITY', 'AGENTS', 'OVERRIDDEN', 'CONNECTED', 'HEALTHY', 'APPLIED', 'FAILED', 'AGE']);
    expect(table[1].split(/\s{3,}/)).toEqual(['checkout', 'service.name=checkout', '20', '0', '0', '0', '0', '0', '0', expect.stringMatching(/^\d+s$/)]);
    expect(lines(await ok(['get', 'grp', '-o', 'wide']))[0]).toMatch(/CONFIGS\s+RV\s+AGE\s+LABELS$/);
    expect(lines(await ok(['get', 'grp', '-o', 'wide']))[1]).toMatch(/collector-base\s+2\s+\d+s\s+team=payments$/);
    expect(await ok(['get', 'rc', '-o', 'name'])).toBe('remoteconfig/collector-base\n');
    const list = JSON.parse(await ok(['get', 'agentgroups', '-o', 'json']));
    expect(list).toMatchObject({
      kind: 'AgentGroupList',
      apiVersion: 'v1',
      items: [{ kind: 'AgentGroup', metadata: { name: 'checkout', labels: { team: 'payments' } }, spec: { priority: 20 } }],
    });
    const rc = parse(await ok(['get', 'remoteconfig', 'collector-base', '-o', 'yaml']));
    expect(rc).toMatchObject({ kind: 'RemoteConfig', spec: { body: 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\n' }, status: { latestRevision: 1 } });
    // A YAML list can be applied back as it is.
    const yamlList = await ok(['get', 'rc', '-o', 'yaml']);
    expect(await ok(['apply', '-f', '-'], { input: yamlList })).toBe('remoteconfig/collector-base unchanged\n');
    expect(lines(await ok(['get', 'grp', '-l', 'team=payments', '--no-headers']))).toEqual([expect.stringMatching(/^checkout\s/)]);
    const none = await run(['get', 'grp', '-l', 'team=other']);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', 'No resources found matching the filters.\n']);

    const group = await ok(['describe', 'agentgroup', 'checkout']);
    expect(group).toMatch(/^Name:\s+checkout\nKind:\s+AgentGroup\n/);
    expect(group).toMatch(/\n {2}Selector: service\.name=checkout\n/);
    expect(group).toMatch(/\n {4}- File Name: +""\n {6}Remote Config: collector-base\n/);
    expect(group).toContain('\nAgents: <none>\n');
    const config = await ok(['describe', 'rc', 'collector-base']);
    expect(config).toMatch(/\n {2}Body:\n {4}receivers:\n {6}otlp:\n/);
    expect(config).toMatch(/\nHistory:\n {2}REVISION\s+HASH\s+AUTHOR\s+MESSAGE\s+AGE\n\s+1\s+[0-9a-f]{12}\s+\S+\s+created\s+\d+s\n/);
  });

  it('watches an opamp-go agent connect and receive the config, then waits for APPLIED', async () => {
    // The watch starts before the agent exists and sees it appear and take its configuration.
    // The agent starts once the watch has listed nothing (a fixed pause lost that race on a loaded machine).
    let listed!: () => void;
    const emptyListed = new Promise<void>((r) => (listed = r));
    const watching = run(['get', 'agents', '-w', '--watch-interval', '500ms', '--timeout', '8s'], {
      onStderr: (e) => e.includes('No resources found; watching for changes.') && listed(),
    });
    await Promise.race([emptyListed, watching]);
    agent = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, ['--service-name', 'checkout', '--heartbeat', '1']);
    agents.push(agent);
    uid = (await agent.event('started')).uid as string;
    await agent.event('remote_config');
    const watch = await watching;
    expect(watch.code).toBe(0);
    const rows = lines(watch.stdout);
    expect(rows[0]).toMatch(/^NAME\s+SERVICE\s+VERSION\s+TRANSPORT\s+CONNECTED\s+HEALTHY\s+CONFIG\s+LAST SEEN\s+AGE$/);
    expect(watch.stderr).toContain('No resources found; watching for changes.');
    expect(rows.filter((r) => r.startsWith(uid)).length).toBeGreaterThanOrEqual(1);
    expect(rows).toContainEqual(expect.stringMatching(new RegExp(`^${uid}\\s+checkout\\s+1\\.0\\.0\\s+websocket\\s+true\\s+\\S+\\s+applied\\s`)));

    const waited = await run(['wait', 'agentgroup', 'checkout', '--for', 'applied', '--timeout', '60s']);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toBe('agentgroup/checkout condition met: 1/1 applied\n');
    // Not a terminal: progress is plain lines, not a bar.
    expect(waited.stderr).not.toContain('\r');
    expect(configBodies(agent)).toEqual(['receivers:\n  otlp:\n    protocols:\n      grpc: {}\n']);

    const table = lines(await ok(['get', 'agents', '--group', 'checkout']));
    expect(table[1]).toMatch(new RegExp(`^${uid}\\s+checkout\\s+1\\.0\\.0\\s+websocket\\s+true\\s+true\\s+applied\\s+\\d+s\\s+\\d+s$`));
    expect(await ok(['get', 'ag', '-l', 'service.name=checkout', '-o', 'name'])).toBe(`agent/${uid}\n`);
    // json/yaml lists are whole agents (view=full), config bodies included, as a get by name.
    const asJson = JSON.parse(await ok(['get', 'agents', '-l', 'service.name=checkout', '-o', 'json']));
    const one = JSON.parse(await ok(['get', 'agent', uid, '-o', 'json']));
    expect(asJson.items[0].status.effectiveConfig).toEqual(one.status.effectiveConfig);
    expect(asJson.items[0].status.health).toEqual(one.status.health);
    const described = await ok(['describe', 'agent', uid]);
    expect(described).toMatch(/\n {2}Remote Config Status:\n {4}Last Remote Config Hash: [0-9a-f]{64}\n {4}Status: +APPLIED\n/);
    expect(described).toMatch(/\nDesired Config:\n {2}Assigned: +true\n/);
    expect(described).toMatch(/\n {4}State: +applied\n/);
    expect(await ok(['describe', 'grp', 'checkout'])).toMatch(
      new RegExp(
        `\\nAgents:\\n {2}NAME\\s+SERVICE\\s+CONNECTED\\s+HEALTHY\\s+CONFIG\\s+CONFIG FROM\\s+LAST SEEN\\n {2}${uid}\\s+checkout\\s+true\\s+true\\s+applied\\s+this group\\s`,
      ),
    );
  });

  it('updates the group config from a file, diffs revisions and rolls back', async () => {
    const file = writeFile('collector.yaml', 'receivers:\n  otlp:\n    protocols:\n      http: {}\n');
    expect(await ok(['update', 'config', '--group', 'checkout', '-f', file, '-m', 'http instead of grpc'])).toBe(
      'remoteconfig/collector-base configured (revision 2)\nagentgroup/checkout unchanged\n',
    );
    expect(await ok(['wait', 'grp', 'checkout', '--timeout', '60s'])).toBe('agentgroup/checkout condition met: 1/1 applied\n');
    expect(configBodies(agent).at(-1)).toBe('receivers:\n  otlp:\n    protocols:\n      http: {}\n');

    const diff = await ok(['config', 'diff', 'collector-base', '--from', '1', '--to', '2']);
    expect(diff).toContain('--- collector-base@1\n+++ collector-base@2\n');
    expect(diff).toContain('\n-      grpc: {}\n+      http: {}');
    expect(await ok(['config', 'rollback', 'collector-base', '--revision', '1'])).toBe(
      'remoteconfig/collector-base rolled back to revision 1 (new revision 3)\n',
    );
    expect(await ok(['wait', 'agentgroup', 'checkout', '--for', 'applied', '--timeout', '60s'])).toBe('agentgroup/checkout condition met: 1/1 applied\n');
    expect(configBodies(agent).at(-1)).toBe('receivers:\n  otlp:\n    protocols:\n      grpc: {}\n');

    const history = lines(await ok(['get', 'history', 'collector-base']));
    expect(history.map((l) => l.trim().split(/\s{3,}/)[3])).toEqual(['MESSAGE', 'rollback to revision 1', 'http instead of grpc', 'created']);
    expect(parse(await ok(['get', 'history', 'collector-base', '2', '-o', 'yaml']))).toMatchObject({
      kind: 'RemoteConfigRevision',
      metadata: { revision: 2 },
      spec: { body: expect.stringContaining('http: {}') },
    });
    expect(await ok(['config', 'history', 'collector-base', '-o', 'name'])).toBe(
      'revision/collector-base@3\nrevision/collector-base@2\nrevision/collector-base@1\n',
    );

    // Tables fit the terminal (COLUMNS stands in for one here): long text is cut with "…", names never.
    const wide = lines(await ok(['get', 'rc', '-o', 'wide'], { env: { COLUMNS: '110' } }));
    expect(wide.every((l) => l.length <= 110)).toBe(true);
    expect(wide[1]).toMatch(/^collector-base\s.*…/);
    expect(lines(await ok(['get', 'rc', '-o', 'wide']))[1]).toContain('rollback to revision 1');
  });

  it('fails a wait when an agent reports FAILED', async () => {
    const canary = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, [
      '--service-name',
      'canary',
      '--heartbeat',
      '1',
      '--fail-configs-containing',
      'BROKEN',
    ]);
    agents.push(canary);
    const canaryUid = (await canary.event('started')).uid as string;
    await ok(['create', 'agentgroup', 'canary', '--selector', 'service.name=canary', '--priority', '50']);
    // The group assigns nothing yet: the file becomes a new remote config named after the group.
    const file = writeFile('broken.yaml', 'receivers: {}\n# BROKEN on purpose\n');
    expect(await ok(['update', 'config', '--group', 'canary', '-f', file])).toBe('remoteconfig/canary created (revision 1)\nagentgroup/canary configured\n');
    const failed = await run(['wait', 'agentgroup', 'canary', '--timeout', '60s']);
    expect(failed.code).toBe(1);
    expect(lines(failed.stderr).at(-1)).toMatch(new RegExp(`^error: agentgroup/canary: configuration FAILED \\(${canaryUid}: .*BROKEN.*\\)$`));
    const table = lines(await ok(['get', 'agents', '--group', 'canary', '-o', 'wide']));
    expect(table[1]).toMatch(new RegExp(`^${canaryUid}\\s+canary\\s.*\\sfailed\\s+FAILED\\s`));
    expect(await ok(['delete', 'agentgroup', 'canary'])).toBe('agentgroup/canary deleted\n');
  });

  it('gives one agent its own config, waits for it, and sends it a restart', async () => {
    const file = writeFile('agent.yaml', 'receivers:\n  hostmetrics: {}\n');
    expect(await ok(['update', 'config', '--agent', uid, '-f', file])).toBe(`agent/${uid} configured\n`);
    expect(await ok(['wait', 'agent', uid, '--for', 'applied', '--timeout', '60s'])).toBe(`agent/${uid} condition met: 1/1 applied\n`);
    expect(configBodies(agent).at(-1)).toBe('receivers:\n  hostmetrics: {}\n');
    expect(await ok(['update', 'config', '--agent', uid, '--clear'])).toBe(`agent/${uid} config cleared (it follows its group again)\n`);
    await ok(['wait', 'agent', uid, '--timeout', '60s']);
    expect(configBodies(agent).at(-1)).toBe('receivers:\n  otlp:\n    protocols:\n      grpc: {}\n');

    const from = agent.events.length;
    expect(await ok(['restart', 'agent', uid])).toBe(`agent/${uid} restart sent\n`);
    expect(await agent.waitFor((e) => e.event === 'command', 10_000, from)).toMatchObject({ type: 'Restart' });
    expect(await ok(['wait', 'agent', uid, '--for', 'connected', '--timeout', '30s'])).toBe(`agent/${uid} condition met: connected=true\n`);
  });

  it('edits in $EDITOR, sets labels and deletes', async () => {
    const editor = writeFile('editor.sh', '#!/bin/sh\nsed -i "s/priority: 20/priority: 30/" "$1"\n');
    fs.chmodSync(editor, 0o755);
    expect(await ok(['edit', 'agentgroup', 'checkout'], { env: { EDITOR: editor } })).toBe('agentgroup/checkout edited\n');
    expect(JSON.parse(await ok(['get', 'grp', 'checkout', '-o', 'json'])).spec.priority).toBe(30);
    expect(await ok(['edit', 'agentgroup', 'checkout'], { env: { EDITOR: 'true' } })).toBe('Edit cancelled, no changes made.\n');

    expect(await ok(['label', 'agent', uid, 'team=payments', 'canary=yes'])).toBe(`agent/${uid} labeled\n`);
    expect(await ok(['get', 'agents', '-l', 'team=payments,canary', '-o', 'name'])).toBe(`agent/${uid}\n`);
    expect(await ok(['label', 'agent', uid, 'canary-'])).toBe(`agent/${uid} labeled\n`);
    expect(JSON.parse(await ok(['get', 'agent', uid, '-o', 'json'])).metadata.labels).toEqual({ team: 'payments' });
    const clash = await run(['label', 'agent', uid, 'team=other']);
    expect([clash.code, lines(clash.stderr)]).toEqual([1, ['error: label team already set; use --overwrite to change it']]);

    await ok(['create', 'agentgroup', 'scratch', '--selector', 'service.name=nothing', '--remote-config', 'collector-base@1', '--label', 'tmp=yes']);
    expect(JSON.parse(await ok(['get', 'grp', 'scratch', '-o', 'json'])).spec).toMatchObject({
      selector: 'service.name=nothing',
      configs: [{ fileName: '', remoteConfig: 'collector-base', revision: 1 }],
    });
    expect(await ok(['delete', 'agentgroup', 'scratch'])).toBe('agentgroup/scratch deleted\n');
    const gone = await run(['get', 'grp', 'scratch']);
    expect([gone.code, gone.stdout, lines(gone.stderr)]).toEqual([1, '', ['Error from server (404 Not Found): agentgroup "scratch" not found']]);
    expect(await ok(['delete', 'grp', 'scratch', '--ignore-not-found'])).toBe('');
  });

  authIt('creates enrollment tokens and users, and reads the audit log', async () => {
    const created = await ok(['create', 'token', '--description', 'ci agents', '--label', 'env=ci', '--expires-in', '24h']);
    const [line, secret] = lines(created);
    expect(line).toMatch(/^token\/\S+ created$/);
    expect(secret).toMatch(/^Token \(shown once\): \S{16,}$/);
    const name = line.split(/[/ ]/)[1];
    const tokens = lines(await ok(['get', 'tokens']));
    expect(tokens[0].split(/\s{3,}/)).toEqual(['NAME', 'STATE', 'DESCRIPTION', 'LABELS', 'EXPIRES', 'LAST USED', 'AGE']);
    expect(tokens[1]).toMatch(new RegExp(`^${name}\\s+active\\s+ci agents\\s+env=ci\\s+in 23h\\s+<none>\\s+\\d+s$`));
    expect(await ok(['delete', 'token', name])).toBe(`token/${name} revoked\n`);
    expect(lines(await ok(['get', 'tokens', name]))[1]).toMatch(/\srevoked\s/);

    expect(await ok(['create', 'user', 'ada', '--role', 'viewer', '--password-stdin'], { input: 'a long passphrase for ada\n' })).toBe('user/ada created\n');
    const manifest = writeFile('users.yaml', 'kind: User\napiVersion: v1\nmetadata: {name: ada}\nspec: {role: operator, password: not sent again on update}\n');
    expect(await ok(['apply', '-f', manifest])).toBe('user/ada configured\n');
    expect(await ok(['apply', '-f', manifest])).toBe('user/ada unchanged\n');
    expect(lines(await ok(['get', 'users', 'ada']))[1]).toMatch(/^ada\s+operator\s+\S+\s+false\s+<none>\s+\d+s$/);
    // ada's password is still the one she was created with.
    const asAda = await run(['login', '--username', 'ada', '--password-stdin', '--context', 'ada'], { input: 'a long passphrase for ada\n' });
    expect(asAda.stdout).toBe(`Logged in to ${serverUrl} as ada (context "ada").\n`);
    await ok(['config', 'use-context', 'e2e']);

    const audit = lines(await ok(['get', 'audit', '--actor', 'admin', '--resource', 'agentgroups/checkout']));
    expect(audit[0].split(/\s{3,}/)).toEqual(['TIME', 'ACTOR', 'ACTION', 'RESOURCE', 'OUTCOME', 'SUMMARY']);
    expect(audit.slice(1).every((l) => /^\d+[smh]\S*\s+admin\s+\S+\s+agentgroups\/checkout\s+success/.test(l))).toBe(true);
    expect(audit.length).toBeGreaterThanOrEqual(3);
  });

  authIt('logs in with the GitHub device flow (against a local fake GitHub)', async () => {
    await ok(['create', 'user', 'octo', '--role', 'viewer', '--github-login', 'octocat', '--no-password']);
    const r = await run(['login', '--github', '--context', 'github'], { timeoutMs: 60_000 });
    expect(r.stderr).toContain('open https://github.example/login/device and enter the code: WDJB-MJHT');
    expect([r.code, r.stdout]).toEqual([0, `Logged in to ${serverUrl} as octo (context "github").\n`]);
    expect(github.polls()).toBeGreaterThanOrEqual(2);
    expect(await ok(['whoami'])).toBe(`octo (role: viewer) on ${serverUrl}\n`);
    // A viewer may read but not change.
    expect(lines(await ok(['get', 'grp', '-o', 'name']))).toContain('agentgroup/checkout');
    const denied = await run(['delete', 'grp', 'checkout']);
    expect([denied.code, lines(denied.stderr)]).toEqual([1, [expect.stringMatching(/^Error from server \(403 Forbidden\)/)]]);
    await ok(['config', 'use-context', 'e2e']);
  });

  authIt('refreshes an expired access token with the refresh token and stores the new pair', async () => {
    const cfg = readConfig();
    const ctx = cfg.contexts.find((c: { name: string }) => c.name === 'e2e');
    const refreshBefore = ctx.credentials.refreshToken;
    ctx.credentials.accessToken = 'expired.or.revoked.token';
    fs.writeFileSync(configFile, JSON.stringify(cfg), { mode: 0o600 });
    expect(await ok(['get', 'grp', 'checkout', '-o', 'name'])).toBe('agentgroup/checkout\n');
    const after = readConfig().contexts.find((c: { name: string }) => c.name === 'e2e').credentials;
    expect(after.accessToken).not.toBe('expired.or.revoked.token');
    expect(after.refreshToken).not.toBe(refreshBefore);
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
  });

  it('prints errors as one line: 1 for errors, 2 for usage', async () => {
    const unknown = await run(['get', 'foos']);
    expect([unknown.code, unknown.stdout, lines(unknown.stderr)]).toEqual([
      1,
      '',
      [expect.stringMatching(/^error: the server doesn't have a resource type "foos"/)],
    ]);
    const badFlag = await run(['get', 'agents', '--bogus']);
    expect([badFlag.code, lines(badFlag.stderr)]).toEqual([2, ["error: unknown option '--bogus' (see opampctl get --help)"]]);
    const missing = await run(['wait', 'agentgroup']);
    expect(missing.code).toBe(2);
    const badValue = await run(['wait', 'agentgroup', 'checkout', '--timeout', 'soon']);
    expect(badValue.code).toBe(2);
    const inUse = await run(['delete', 'remoteconfig', 'collector-base']);
    expect([inUse.code, lines(inUse.stderr)]).toEqual([1, [expect.stringMatching(/^Error from server \(409 Conflict\): .*collector-base.*checkout/)]]);
    const invalid = writeFile('invalid.yaml', 'kind: AgentGroup\napiVersion: v1\nmetadata: {name: broken}\nspec: {selector: "a in ("}\n');
    const rejected = await run(['apply', '-f', invalid]);
    expect(rejected.code).toBe(1);
    expect(lines(rejected.stderr)).toEqual([expect.stringMatching(/^Error from server \(400 Bad Request\): .*selector.* \[.*invalid\.yaml\]$/)]);
    const notYaml = writeFile('not-yaml.yaml', 'kind: [\n');
    const parseError = await run(['apply', '-f', notYaml]);
    expect([parseError.code, lines(parseError.stderr)]).toEqual([
      1,
      [expect.stringMatching(/^error: .*not-yaml\.yaml: invalid YAML at line \d+, column \d+: /)],
    ]);
    const badUid = await run(['get', 'agent', 'not-a-uid']);
    expect([badUid.code, lines(badUid.stderr)]).toEqual([1, [expect.stringMatching(/^Error from server \(400 Bad Request\): instanceUid must be a UUID/)]]);
    await ok(['create', 'agentgroup', 'lonely', '--selector', 'service.name=nobody']);
    const timeout = await run(['wait', 'agentgroup', 'lonely', '--for', 'applied', '--timeout', '1s']);
    expect([timeout.code, timeout.stderr.trim().split('\n').at(-1)]).toEqual([
      1,
      'error: timed out after 1s waiting for agentgroup/lonely to be applied: no connected agents yet',
    ]);
    await ok(['delete', 'agentgroup', 'lonely']);
  });

  it('completes commands, types and names for bash and zsh', async () => {
    expect(await ok(['completion', 'bash'])).toContain('complete -o default -F _opampctl opampctl');
    expect(await ok(['completion', 'zsh'])).toMatch(/^#compdef opampctl/);
    expect(lines(await ok(['__complete', 'get', 'grp', '']))).toEqual(['checkout']);
    expect(lines(await ok(['__complete', 'get', 'remote']))).toEqual(['remoteconfigs', 'remoteconfig']);
    expect(lines(await ok(['__complete', 'config', 'use-context', '']))).toEqual(expect.arrayContaining(['e2e', 'other']));
    expect(lines(await ok(['__complete', 'restart', 'agent', '']))).toEqual(expect.arrayContaining([uid]));
  });

  authIt('logs out: the session ends on the server and the credentials leave the file', async () => {
    const token = readConfig().contexts.find((c: { name: string }) => c.name === 'e2e').credentials.accessToken;
    expect(await ok(['logout'])).toBe(`Logged out of ${serverUrl} (context "e2e").\n`);
    expect(readConfig().contexts.find((c: { name: string }) => c.name === 'e2e').credentials).toBeUndefined();
    const res = await fetch(`${serverUrl}/api/v1/agentgroups`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    const after = await run(['whoami']);
    expect([after.code, lines(after.stderr)]).toEqual([1, [expect.stringMatching(/^Error from server \(401 Unauthorized\)/)]]);
    expect(await ok(['logout'])).toBe('Not logged in.\n');
  });
});
