import * as https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { WebSocket } from 'ws';
import { decodeServerToAgent, encodeAgentToServer } from '../src/opamp-gateway/protocol/opamp-codec';
import { eventually, getAgent } from './support/agents-api';
import { attributes, GrpcTestAgent, Msg, newAgentUid } from './support/grpc-test-client';
import { writeTestTlsFiles, TEST_TLS_CERT } from './support/grpc-tls-fixture';
import { AGENT_CLIENT_CERT, AGENT_CLIENT_KEY, ROGUE_CLIENT_CERT, ROGUE_CLIENT_KEY, writeAgentCaFile } from './support/mtls-fixture';
import { agentMessage, description, httpExchange, newUid, RawWsAgent } from './support/opamp-test-client';
import { ApiAnswer, rawRequest, restClient } from './support/rest-client';
import { startTestServer, TEST_ADMIN, TestServer } from './support/test-server';

const hello = (uid: Uint8Array, name: string) =>
  agentMessage({ instanceUid: uid, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': name }) });
const grpcHello = (uid: Buffer, name: string): Msg => ({
  instanceUid: uid,
  sequenceNum: 0,
  capabilities: 1,
  agentDescription: { identifyingAttributes: attributes({ 'service.name': name }) },
});

/** A refused upgrade: the HTTP status and headers the client saw instead of a WebSocket. */
async function refusedUpgrade(port: number, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string> }> {
  try {
    const a = await RawWsAgent.connect(port, '/v1/opamp', headers);
    await a.close();
  } catch (err) {
    const e = err as { status?: number; headers?: Record<string, string> };
    if (e.status) return { status: e.status, headers: e.headers ?? {} };
    throw err;
  }
  throw new Error('the upgrade was accepted');
}

function expectProblem(res: ApiAnswer, status: number) {
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/problem\+json/);
}

describe('agent enrollment tokens (OPAMP_AGENT_AUTH=token)', () => {
  let server: TestServer;
  let admin: ReturnType<typeof restClient>;
  let prodToken: string;
  let prodName: string;
  const open: GrpcTestAgent[] = [];

  beforeAll(async () => {
    server = await startTestServer({ OPAMP_AGENT_AUTH: 'token' });
    admin = restClient(server);
    const created = await admin('POST', '/enrollment-tokens', {
      kind: 'EnrollmentToken',
      apiVersion: 'v1',
      spec: { description: 'prod collectors', labels: { env: 'prod', team: 'obs' } },
    });
    expect(created.status).toBe(201);
    prodToken = created.body.token;
    prodName = created.body.metadata.name;
  });
  afterEach(() => open.splice(0).forEach((a) => a.close()));
  afterAll(() => server?.close());

  it('shows the secret once, at creation; lists never carry it', async () => {
    expect(prodToken).toMatch(/^oce_[0-9a-f]{16}\.[\w-]{43}$/);
    const one = await admin('GET', `/enrollment-tokens/${prodName}`);
    expect(one.body).toMatchObject({
      kind: 'EnrollmentToken',
      metadata: { name: prodName, createdBy: 'admin' },
      spec: { description: 'prod collectors', labels: { env: 'prod', team: 'obs' } },
      status: { state: 'active' },
    });
    // Made without spec.expiresAt: it ends ENROLLMENT_TOKEN_TTL_DAYS (30) days after it was made.
    const lifetime = Date.parse(one.body.spec.expiresAt) - Date.parse(one.body.metadata.createdAt);
    expect(Math.abs(lifetime - 30 * 86_400_000)).toBeLessThan(60_000);
    // No body at all is a token with the defaults, not one that never expires.
    const bare = await admin('POST', '/enrollment-tokens');
    expect(bare.status).toBe(201);
    expect(Date.parse(bare.body.spec.expiresAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const list = await admin('GET', '/enrollment-tokens');
    const secret = prodToken.split('.')[1];
    for (const body of [one.body, list.body, (await admin('GET', '/audit?kind=enrollment-tokens')).body]) expect(JSON.stringify(body)).not.toContain(secret);
    expect(list.body.items.map((t: { metadata: { name: string } }) => t.metadata.name)).toContain(prodName);
    expect((await admin('POST', '/enrollment-tokens', { spec: { labels: { 'bad.key': 'x' } } })).status).toBe(400);
    expect((await admin('POST', '/enrollment-tokens', { spec: { expiresAt: new Date(Date.now() - 1000).toISOString() } })).status).toBe(400);
    expect((await admin('POST', '/enrollment-tokens', { spec: { unknown: true } })).status).toBe(400);
  });

  it('admits a WebSocket agent with a valid token and stamps the token labels on it', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort, '/v1/opamp', { authorization: `Bearer ${prodToken}` });
    const reply = await agent.exchange(hello(uid.bytes, 'ws-enrolled'));
    expect(reply.errorResponse).toBeUndefined();
    const stored = await eventually(
      () => getAgent(server, uid.text),
      (r) => r.status === 200,
    );
    expect(stored.body.metadata.labels).toEqual({ env: 'prod', team: 'obs' });
    await agent.close();
  });

  it('refuses a WebSocket upgrade without a valid agent credential (401 before any upgrade)', async () => {
    const userJwt = server.token;
    const refreshToken = (await restClient(server, { token: null })('POST', '/auth/login', TEST_ADMIN)).body.refreshToken;
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: `Bearer ${prodToken}x` },
      // One secret in 16 ends in "A" already (its last character carries 4 random bits): the altered token must differ.
      { authorization: `Bearer ${prodToken.slice(0, -1)}${prodToken.endsWith('A') ? 'E' : 'A'}` },
      { authorization: `Bearer oce_${'0'.repeat(16)}.${'A'.repeat(43)}` },
      { authorization: `Bearer ${userJwt}` },
      { authorization: `Bearer ${refreshToken}` },
    ];
    for (const headers of cases) {
      const refused = await refusedUpgrade(server.opampPort, headers);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.headers['content-type']).toBe('application/problem+json');
    }
  });

  it('admits an HTTP agent with a valid token and refuses one without, before reading the body', async () => {
    const uid = newUid();
    const body = encodeAgentToServer(hello(uid.bytes, 'http-enrolled'));
    const refused = await httpExchange(server.opampPort, body);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(JSON.parse(refused.bytes.toString())).toMatchObject({ status: 401, detail: expect.stringContaining('Missing credentials') });
    expect((await httpExchange(server.opampPort, body, { authorization: `Bearer ${server.token}` })).status).toBe(401);
    expect((await getAgent(server, uid.text)).status).toBe(404);

    const ok = await httpExchange(server.opampPort, body, { authorization: `Bearer ${prodToken}` });
    expect(ok.status).toBe(200);
    expect(ok.message?.errorResponse).toBeUndefined();
    expect((await getAgent(server, uid.text)).body.metadata.labels).toEqual({ env: 'prod', team: 'obs' });
  });

  it('admits a gRPC agent with a valid token and refuses one without (UNAUTHENTICATED)', async () => {
    const cases: Record<string, string>[] = [{}, { authorization: 'Bearer nope' }, { authorization: `Bearer ${server.token}` }];
    for (const metadata of cases) {
      const refused = GrpcTestAgent.open(server.grpcPort, { metadata });
      open.push(refused);
      refused.send(grpcHello(newAgentUid().bytes, 'grpc-refused'));
      expect((await refused.ended()).code).toBe(grpc.status.UNAUTHENTICATED);
    }
    const uid = newAgentUid();
    const agent = GrpcTestAgent.open(server.grpcPort, { metadata: { authorization: `Bearer ${prodToken}` } });
    open.push(agent);
    const reply = await agent.exchange(grpcHello(uid.bytes, 'grpc-enrolled'));
    expect(reply.errorResponse).toBeUndefined();
    expect((await getAgent(server, uid.text)).body.metadata.labels).toEqual({ env: 'prod', team: 'obs' });
  });

  it('keeps labels an operator set over the token labels', async () => {
    const uid = newUid();
    const auth = { authorization: `Bearer ${prodToken}` };
    expect((await httpExchange(server.opampPort, encodeAgentToServer(hello(uid.bytes, 'relabelled')), auth)).status).toBe(200);
    expect((await admin('PATCH', `/agents/${uid.text}`, { metadata: { labels: { env: 'staging', team: null } } })).status).toBe(200);
    const next = agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, capabilities: 1n });
    expect((await httpExchange(server.opampPort, encodeAgentToServer(next), auth)).status).toBe(200);
    // env keeps the operator's value; the removed team comes back from the token.
    expect((await getAgent(server, uid.text)).body.metadata.labels).toEqual({ env: 'staging', team: 'obs' });
  });

  it('accepts several tokens at once, so that one can be revoked while another takes over', async () => {
    const next = (await admin('POST', '/enrollment-tokens', { spec: { description: 'rotation' } })).body.token as string;
    const post = (token: string) =>
      httpExchange(server.opampPort, encodeAgentToServer(hello(newUid().bytes, 'rotating')), { authorization: `Bearer ${token}` });
    expect((await post(next)).status).toBe(200);
    expect((await post(prodToken)).status).toBe(200);

    const revoked = await admin('DELETE', `/enrollment-tokens/${prodName}`);
    expect(revoked.body.status.state).toBe('revoked');
    const refused = await post(prodToken);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.bytes.toString()).detail).toBe('The enrollment token has been revoked.');
    expect((await refusedUpgrade(server.opampPort, { authorization: `Bearer ${prodToken}` })).status).toBe(401);
    expect((await post(next)).status).toBe(200);
    expect((await admin('GET', '/audit?kind=enrollment-tokens&action=delete')).body.items[0]).toMatchObject({
      resource: { name: prodName },
      changes: ['revokedAt'],
    });
  });

  it('refuses an expired token', async () => {
    const created = await admin('POST', '/enrollment-tokens', { spec: { expiresAt: new Date(Date.now() + 1500).toISOString() } });
    const token = created.body.token as string;
    const post = () => httpExchange(server.opampPort, encodeAgentToServer(hello(newUid().bytes, 'short-lived')), { authorization: `Bearer ${token}` });
    expect((await post()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1800));
    const refused = await post();
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.bytes.toString()).detail).toBe('The enrollment token has expired.');
    expect((await admin('GET', `/enrollment-tokens/${created.body.metadata.name}`)).body.status.state).toBe('expired');
  });

  it('does not take an agent token on the management API', async () => {
    const token = (await admin('POST', '/enrollment-tokens', {})).body.token as string;
    const res = await restClient(server, { token })('GET', '/agents');
    expectProblem(res, 401);
    expect(JSON.stringify(res.body)).not.toContain(token);
  });
});

describe('agent mTLS (TLS_CLIENT_CA_FILE) as an alternative to tokens, and TLS on every port', () => {
  let server: TestServer;
  let token: string;
  const open: GrpcTestAgent[] = [];

  beforeAll(async () => {
    const { certFile, keyFile } = writeTestTlsFiles();
    server = await startTestServer({ OPAMP_AGENT_AUTH: 'token', TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_CLIENT_CA_FILE: writeAgentCaFile() });
    token = (await restClient(server, { ca: TEST_TLS_CERT })('POST', '/enrollment-tokens', {})).body.token;
  });
  afterEach(() => open.splice(0).forEach((a) => a.close()));
  afterAll(() => server?.close());

  const wss = (opts: { cert?: string; key?: string; headers?: Record<string, string> }) =>
    new Promise<{ ws?: WebSocket; status?: number }>((resolve, reject) => {
      const ws = new WebSocket(`wss://localhost:${server.opampPort}/v1/opamp`, { ca: TEST_TLS_CERT, cert: opts.cert, key: opts.key, headers: opts.headers });
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
      ws.once('error', reject);
    });

  const httpsPost = (body: Uint8Array, opts: { cert?: string; key?: string; headers?: Record<string, string> } = {}) =>
    new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: server.opampPort,
          path: '/v1/opamp',
          method: 'POST',
          ca: TEST_TLS_CERT,
          cert: opts.cert,
          key: opts.key,
          headers: { 'content-type': 'application/x-protobuf', ...opts.headers },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('serves the API over TLS with security headers and HSTS', async () => {
    const res = await rawRequest(`${server.baseUrl}/api/v1/agents`, { headers: server.authHeaders, ca: TEST_TLS_CERT });
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    expectProblem(await rawRequest(`${server.baseUrl}/api/v1/agents`, { ca: TEST_TLS_CERT }), 401);
  });

  it('admits a WebSocket agent whose certificate the CA signed, without a token', async () => {
    const uid = newUid();
    const { ws } = await wss({ cert: AGENT_CLIENT_CERT, key: AGENT_CLIENT_KEY });
    expect(ws).toBeDefined();
    const answered = new Promise<Buffer>((resolve) => ws!.once('message', (d: Buffer) => resolve(d)));
    ws!.send(Buffer.concat([Buffer.from([0]), Buffer.from(encodeAgentToServer(hello(uid.bytes, 'mtls-ws')))]));
    const reply = decodeServerToAgent((await answered).subarray(1));
    expect(reply.errorResponse).toBeUndefined();
    expect(
      (
        await eventually(
          () => getAgentTls(server, uid.text),
          (r) => r.status === 200,
        )
      ).body.status.connection.transport,
    ).toBe('websocket');
    ws!.close();
  });

  it('refuses agents with no certificate, or one the CA did not sign, unless they bring a token', async () => {
    expect((await wss({})).status).toBe(401);
    expect((await wss({ cert: ROGUE_CLIENT_CERT, key: ROGUE_CLIENT_KEY })).status).toBe(401);
    const { ws } = await wss({ headers: { authorization: `Bearer ${token}` } });
    expect(ws).toBeDefined();
    ws!.close();

    const body = encodeAgentToServer(hello(newUid().bytes, 'mtls-http'));
    expect(await httpsPost(body)).toBe(401);
    expect(await httpsPost(body, { cert: ROGUE_CLIENT_CERT, key: ROGUE_CLIENT_KEY })).toBe(401);
    expect(await httpsPost(body, { cert: AGENT_CLIENT_CERT, key: AGENT_CLIENT_KEY })).toBe(200);
    expect(await httpsPost(body, { headers: { authorization: `Bearer ${token}` } })).toBe(200);
  });

  it('speaks TLS on the gRPC port too, with the same certificate check', async () => {
    const tls = (cert?: string, key?: string) =>
      grpc.credentials.createSsl(Buffer.from(TEST_TLS_CERT), key ? Buffer.from(key) : null, cert ? Buffer.from(cert) : null);
    const refused = GrpcTestAgent.open(server.grpcPort, { host: 'localhost', credentials: tls() });
    open.push(refused);
    refused.send(grpcHello(newAgentUid().bytes, 'mtls-grpc-refused'));
    expect((await refused.ended()).code).toBe(grpc.status.UNAUTHENTICATED);

    const rogue = GrpcTestAgent.open(server.grpcPort, { host: 'localhost', credentials: tls(ROGUE_CLIENT_CERT, ROGUE_CLIENT_KEY) });
    open.push(rogue);
    rogue.send(grpcHello(newAgentUid().bytes, 'mtls-grpc-rogue'));
    expect((await rogue.ended()).code).toBe(grpc.status.UNAUTHENTICATED);

    const uid = newAgentUid();
    const agent = GrpcTestAgent.open(server.grpcPort, { host: 'localhost', credentials: tls(AGENT_CLIENT_CERT, AGENT_CLIENT_KEY) });
    open.push(agent);
    expect((await agent.exchange(grpcHello(uid.bytes, 'mtls-grpc'))).errorResponse).toBeUndefined();
    expect((await getAgentTls(server, uid.text)).body.status.connection.transport).toBe('grpc');

    const withToken = GrpcTestAgent.open(server.grpcPort, { host: 'localhost', credentials: tls(), metadata: { authorization: `Bearer ${token}` } });
    open.push(withToken);
    expect((await withToken.exchange(grpcHello(newAgentUid().bytes, 'tls-grpc-token'))).errorResponse).toBeUndefined();
  });
});

async function getAgentTls(server: TestServer, uid: string) {
  const res = await rawRequest(`${server.baseUrl}/api/v1/agents/${uid}`, { headers: server.authHeaders, ca: TEST_TLS_CERT });
  return { status: res.status, body: res.body };
}
