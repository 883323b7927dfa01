import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { AgentConfigFileSchema, AgentConfigMapSchema, AgentRemoteConfigSchema } from '../src/gen/opamp/v1/opamp_pb';
import { AgentAuthenticator, AgentAuthResult } from '../src/protocol/agent-authenticator';
import { ConnectionRegistry } from '../src/opamp-gateway/connection-registry';
import { GrpcTransport } from '../src/opamp-gateway/transports/grpc-transport';
import { buildServerToAgent } from '../src/opamp-gateway/protocol/server-to-agent.builder';
import { attributes, channelCredentials, GrpcTestAgent, healthCheck, healthClient, Msg, newAgentUid } from './support/grpc-test-client';
import { TEST_TLS_CERT, writeTestTlsFiles } from './support/grpc-tls-fixture';
import { startTestServer, TestServer } from './support/test-server';
import { ExampleGrpcAgent } from '../examples/grpc-agent';

// Capability bits, written out so the client side shares nothing with the server's code.
const ReportsStatus = 0x1;
const AcceptsRemoteConfig = 0x2;
const ReportsEffectiveConfig = 0x4;
const ReportsRemoteConfig = 0x1000;
const ReportsHealth = 0x800;
const AcceptsStatus = 0x1n; // ServerCapabilities_AcceptsStatus
const REPORTS = ReportsStatus | ReportsEffectiveConfig | ReportsHealth;
const MAX_MESSAGE_BYTES = 64 * 1024;

async function getAgent(server: TestServer, uid: string) {
  const res = await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/agents/${uid}`, { headers: server.authHeaders });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep, loosely typed JSON
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const big = (v: unknown) => BigInt((v as string | undefined) ?? 0);
const hello = (uid: Buffer, name: string, seq = 0): Msg => ({
  instanceUid: uid,
  sequenceNum: seq,
  capabilities: ReportsStatus,
  agentDescription: { identifyingAttributes: attributes({ 'service.name': name }) },
});

describe('OpAMP over gRPC', () => {
  let server: TestServer;
  const agents: GrpcTestAgent[] = [];
  const open = (opts: Parameters<typeof GrpcTestAgent.open>[1] = {}) => {
    const a = GrpcTestAgent.open(server.grpcPort, opts);
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    server = await startTestServer({ OPAMP_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), GRPC_IDLE_TIMEOUT_SECONDS: '2' });
  });
  afterEach(() => agents.splice(0).forEach((a) => a.close()));
  afterAll(() => server?.close());

  it('binds a real port and reports it', () => {
    expect(server.grpcPort).toBeGreaterThan(0);
  });

  it('discovers an agent, answers first with capabilities and its uid, and stores what it reports', async () => {
    const uid = newAgentUid();
    const agent = open();
    const reply = await agent.exchange({
      instanceUid: uid.bytes,
      sequenceNum: 0,
      capabilities: REPORTS,
      agentDescription: {
        identifyingAttributes: attributes({ 'service.name': 'checkout', 'service.version': '1.2.3' }),
        nonIdentifyingAttributes: attributes({ 'host.name': 'node-1' }),
      },
      health: {
        healthy: true,
        startTimeUnixNano: '1700000000000000000',
        status: 'StatusOK',
        componentHealthMap: { 'pipeline:traces': { healthy: false, lastError: 'exporter down' } },
      },
      effectiveConfig: { configMap: { configMap: { '': { body: Buffer.from('receivers:\n  otlp: {}\n'), contentType: 'text/yaml' } } } },
    });
    expect(reply.instanceUid).toEqual(uid.bytes);
    expect(big(reply.capabilities) & AcceptsStatus).toBe(AcceptsStatus);
    expect(reply.flags).toBeUndefined(); // nothing missing: no ReportFullState
    expect(reply.errorResponse).toBeUndefined();

    const { status, body } = await getAgent(server, uid.text);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      metadata: { name: uid.text },
      status: {
        connected: true,
        connection: { transport: 'grpc', remoteAddress: expect.stringContaining('127.0.0.1'), sequenceNum: 0 },
        description: {
          identifyingAttributes: { 'service.name': 'checkout', 'service.version': '1.2.3' },
          nonIdentifyingAttributes: { 'host.name': 'node-1' },
        },
        health: { healthy: true, status: 'StatusOK', components: { 'pipeline:traces': { healthy: false, lastError: 'exporter down' } } },
        effectiveConfig: { configMap: { '': { contentType: 'text/yaml', body: 'receivers:\n  otlp: {}\n' } } },
      },
    });

    // Later answers are acknowledgements: the uid alone, no capabilities.
    const ack = await agent.exchange({ instanceUid: uid.bytes, sequenceNum: 1, capabilities: REPORTS });
    expect(ack.instanceUid).toEqual(uid.bytes);
    expect(ack.capabilities).toBeUndefined();
    expect(ack.flags).toBeUndefined();

    // A changed health report replaces the stored one.
    await agent.exchange({ instanceUid: uid.bytes, sequenceNum: 2, capabilities: REPORTS, health: { healthy: false, lastError: 'disk full' } });
    expect((await getAgent(server, uid.text)).body.status.health).toMatchObject({ healthy: false, lastError: 'disk full' });
  });

  it('answers every message, in order, when the agent sends several without waiting', async () => {
    const uid = newAgentUid();
    const agent = open();
    agent.send(hello(uid.bytes, 'chatty'));
    for (let seq = 1; seq <= 30; seq++) agent.send({ instanceUid: uid.bytes, sequenceNum: seq, capabilities: ReportsStatus });
    const last = await agent.nth(31);
    expect(last.instanceUid).toEqual(uid.bytes);
    expect(agent.received).toHaveLength(31);
    expect(agent.received.every((m) => Buffer.compare(m.instanceUid, uid.bytes) === 0 && !m.errorResponse)).toBe(true);
    expect(agent.received.map((m) => m.capabilities !== undefined)).toEqual([true, ...Array(30).fill(false)]); // first answer first
    expect((await getAgent(server, uid.text)).body.status.connection.sequenceNum).toBe(30);
  });

  it('answers malformed messages with error_response BAD_REQUEST and keeps the stream usable', async () => {
    const agent = open();
    agent.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])); // not protobuf
    const r1 = await agent.nth(1);
    expect(r1.errorResponse).toMatchObject({ type: 'ServerErrorResponseType_BadRequest' });
    expect(r1.errorResponse.errorMessage).toMatch(/undecodable/);
    expect(r1.capabilities).toBeUndefined();
    expect(r1.flags).toBeUndefined();

    const r2 = await agent.exchange({ instanceUid: Buffer.from('short'), sequenceNum: 0 }); // uid must be 16 bytes
    expect(r2.errorResponse).toMatchObject({ type: 'ServerErrorResponseType_BadRequest', errorMessage: expect.stringMatching(/16 bytes/) });

    const uid = newAgentUid();
    const ok = await agent.exchange(hello(uid.bytes, 'after-garbage'));
    expect(ok.errorResponse).toBeUndefined();
    expect(big(ok.capabilities) & AcceptsStatus).toBe(AcceptsStatus);
    expect((await getAgent(server, uid.text)).body.status).toMatchObject({ connected: true, connection: { transport: 'grpc' } });
    expect(agent.status).toBeUndefined();
  });

  it('refuses a message over the size limit with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const agent = open();
    agent.sendRaw(Buffer.alloc(MAX_MESSAGE_BYTES + 1024, 1));
    expect((await agent.ended()).code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const uid = newAgentUid();
    const next = open();
    expect((await next.exchange(hello(uid.bytes, 'after-oversize'))).errorResponse).toBeUndefined();
    expect((await fetch(`http://127.0.0.1:${server.apiPort}/healthz`)).status).toBe(200);
  });

  it('marks the agent disconnected when the stream is cancelled', async () => {
    const uid = newAgentUid();
    const agent = open();
    await agent.exchange(hello(uid.bytes, 'cancelled'));
    expect((await getAgent(server, uid.text)).body.status.connected).toBe(true);
    agent.cancel();
    const after = await eventually(
      () => getAgent(server, uid.text),
      (r) => r.body.status.connected === false,
    );
    expect(after.body.status).toMatchObject({ connected: false, connection: { transport: 'grpc', disconnectedAt: expect.any(String) } });
    expect(after.body.status.description.identifyingAttributes['service.name']).toBe('cancelled');
  });

  it('ends the stream with OK when the agent half-closes, and marks it disconnected', async () => {
    const uid = newAgentUid();
    const agent = open();
    agent.send(hello(uid.bytes, 'half-close'));
    const status = await agent.finish();
    expect(status.code).toBe(grpc.status.OK);
    expect(agent.received).toHaveLength(1); // the message sent before the half-close was still answered
    expect(
      (
        await eventually(
          () => getAgent(server, uid.text),
          (r) => !r.body.status.connected,
        )
      ).body.status.connected,
    ).toBe(false);
  });

  it('ends the session at once on agent_disconnect', async () => {
    const uid = newAgentUid();
    const agent = open();
    await agent.exchange(hello(uid.bytes, 'bye'));
    const r = await agent.exchange({ instanceUid: uid.bytes, sequenceNum: 1, agentDisconnect: {} });
    expect(r.instanceUid).toEqual(uid.bytes);
    expect((await getAgent(server, uid.text)).body.status.connected).toBe(false);
  });

  it('keeps the agent connected when an older duplicate stream closes', async () => {
    const uid = newAgentUid();
    const older = open();
    await older.exchange(hello(uid.bytes, 'dup'));
    const newer = open();
    const r = await newer.exchange(hello(uid.bytes, 'dup', 1));
    expect(big(r.capabilities) & AcceptsStatus).toBe(AcceptsStatus); // first answer on the new stream
    older.cancel();
    await new Promise((res) => setTimeout(res, 300));
    expect((await getAgent(server, uid.text)).body.status.connected).toBe(true);
    newer.cancel();
    expect(
      (
        await eventually(
          () => getAgent(server, uid.text),
          (x) => !x.body.status.connected,
        )
      ).body.status.connected,
    ).toBe(false);
  });

  it('delivers a ServerToAgent pushed through the connection (conn.push) and stores the status the agent reports', async () => {
    // The fleet issue's remote-config delivery will drive this end to end; here the push comes
    // straight from the connection registry, the way the session's push paths reach an agent.
    const uid = newAgentUid();
    const agent = open();
    await agent.exchange({ ...hello(uid.bytes, 'pushed'), capabilities: ReportsStatus | AcceptsRemoteConfig | ReportsRemoteConfig });
    const conn = server.app.get(ConnectionRegistry).get(uid.text);
    expect(conn?.transport).toBe('grpc');
    const hash = Buffer.alloc(32, 7);
    conn!.push!(
      buildServerToAgent({
        instanceUid: uid.bytes,
        withCapabilities: false,
        remoteConfig: create(AgentRemoteConfigSchema, {
          configHash: hash,
          config: create(AgentConfigMapSchema, {
            configMap: { '': create(AgentConfigFileSchema, { body: Buffer.from('exporters: {}\n'), contentType: 'text/yaml' }) },
          }),
        }),
      }),
    );
    const pushed = await agent.nth(2);
    expect(pushed.instanceUid).toEqual(uid.bytes);
    expect(pushed.remoteConfig.configHash).toEqual(hash);
    expect(pushed.remoteConfig.config.configMap[''].body.toString()).toBe('exporters: {}\n');

    const ack = await agent.exchange({
      instanceUid: uid.bytes,
      sequenceNum: 1,
      remoteConfigStatus: { lastRemoteConfigHash: hash, status: 'RemoteConfigStatuses_APPLIED' },
    });
    expect(ack.errorResponse).toBeUndefined();
    expect((await getAgent(server, uid.text)).body.status.remoteConfigStatus).toMatchObject({ lastRemoteConfigHash: hash.toString('hex'), status: 'APPLIED' });
  });

  it('receives a group config through the fleet API at once, and a new revision too, without resends', async () => {
    const { restClient } = await import('./support/rest-client');
    const api = restClient(server);
    expect(
      (await api('POST', '/remoteconfigs', { metadata: { name: 'grpc-fleet' }, spec: { contentType: 'application/yaml', body: 'receivers: {otlp: {}}\n' } }))
        .status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/agentgroups', {
          metadata: { name: 'grpc-fleet' },
          spec: { selector: 'service.name=grpc-fleet', configs: [{ fileName: '', remoteConfig: 'grpc-fleet' }] },
        })
      ).status,
    ).toBe(201);
    const uid = newAgentUid();
    const agent = open();
    const first = await agent.exchange({ ...hello(uid.bytes, 'grpc-fleet'), capabilities: ReportsStatus | AcceptsRemoteConfig | ReportsRemoteConfig });
    expect(first.remoteConfig.config.configMap[''].body.toString()).toBe('receivers: {otlp: {}}\n');
    const h1 = first.remoteConfig.configHash;
    await agent.exchange({ instanceUid: uid.bytes, sequenceNum: 1, remoteConfigStatus: { lastRemoteConfigHash: h1, status: 'RemoteConfigStatuses_APPLIED' } });
    const cur = (await api('GET', '/remoteconfigs/grpc-fleet')).body;
    expect(
      (await api('PUT', '/remoteconfigs/grpc-fleet', { ...cur, spec: { ...cur.spec, body: 'receivers: {otlp: {protocols: {grpc: {}}}}\n' } })).status,
    ).toBe(200);
    const pushed = await agent.nth(3);
    expect(pushed.remoteConfig.config.configMap[''].body.toString()).toContain('protocols');
    const h2 = pushed.remoteConfig.configHash;
    expect(Buffer.from(h2).equals(Buffer.from(h1))).toBe(false);
    const ack = await agent.exchange({
      instanceUid: uid.bytes,
      sequenceNum: 2,
      remoteConfigStatus: { lastRemoteConfigHash: h2, status: 'RemoteConfigStatuses_APPLIED' },
    });
    expect(ack.remoteConfig).toBeUndefined();
    const hb = await agent.exchange({ instanceUid: uid.bytes, sequenceNum: 3 });
    expect(hb.remoteConfig).toBeUndefined();
    const stored = await eventually(
      () => getAgent(server, uid.text),
      (r) => r.body.status.remoteConfig?.state === 'applied',
    );
    expect(stored.body.status.remoteConfig).toMatchObject({ state: 'applied', desiredHash: Buffer.from(h2).toString('hex'), origin: 'group/grpc-fleet' });
    agent.cancel();
  });

  it('serves the example agent (examples/grpc-agent.ts): discovered, applies a pushed config, reports APPLIED, says goodbye', async () => {
    const lines: string[] = [];
    const example = new ExampleGrpcAgent({ address: `127.0.0.1:${server.grpcPort}`, serviceName: 'example-agent', log: (l) => lines.push(l) });
    example.start();
    try {
      const found = await eventually(
        () => getAgent(server, example.uidText),
        (r) => r.status === 200 && r.body.status.connected === true,
      );
      expect(found.body.status).toMatchObject({
        connection: { transport: 'grpc' },
        description: { identifyingAttributes: { 'service.name': 'example-agent' } },
        health: { healthy: true },
      });
      const hash = Buffer.alloc(32, 9);
      server.app.get(ConnectionRegistry).get(example.uidText)!.push!(
        buildServerToAgent({
          instanceUid: example.instanceUid,
          withCapabilities: false,
          remoteConfig: create(AgentRemoteConfigSchema, {
            configHash: hash,
            config: create(AgentConfigMapSchema, {
              configMap: { '': create(AgentConfigFileSchema, { body: Buffer.from('processors: {}\n'), contentType: 'text/yaml' }) },
            }),
          }),
        }),
      );
      const applied = await eventually(
        () => getAgent(server, example.uidText),
        (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED',
      );
      expect(applied.body.status.remoteConfigStatus.lastRemoteConfigHash).toBe(hash.toString('hex'));
      expect(applied.body.status.effectiveConfig.configMap[''].body).toBe('processors: {}\n');
    } finally {
      await example.stop();
    }
    expect((await getAgent(server, example.uidText)).body.status.connected).toBe(false);
    expect(lines.join('\n')).toMatch(/applied remote config/);
  });

  it('closes a stream that never speaks after the idle timeout', async () => {
    const agent = open();
    const status = await agent.ended(10_000);
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(status.details).toMatch(/no AgentToServer within 2 s/);
  });

  it('passes request metadata to the agent authenticator and refuses what it refuses', async () => {
    const authenticator = server.app.get(AgentAuthenticator);
    // A stand-in for the real check (enrollment tokens, tested by the auth suite) shows what
    // the hook receives from a gRPC stream and how its refusals reach the agent.
    const spy = jest.spyOn(authenticator, 'authenticate').mockImplementation(async (headers): Promise<AgentAuthResult> => {
      if (headers.authorization === 'Bearer good') return { ok: true };
      if (headers.authorization === 'Bearer revoked') return { ok: false, status: 403, message: 'token revoked' };
      return { ok: false, status: 401, message: 'a valid token is required' };
    });
    try {
      const none = open();
      expect(await none.ended()).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: 'a valid token is required' });
      const revoked = open({ metadata: { authorization: 'Bearer revoked' } });
      expect(await revoked.ended()).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'token revoked' });

      const uid = newAgentUid();
      const good = open({ metadata: { authorization: 'Bearer good' } });
      expect((await good.exchange(hello(uid.bytes, 'authorized'))).errorResponse).toBeUndefined();
      expect(spy.mock.calls.some(([headers, transport]) => headers.authorization === 'Bearer good' && transport === 'grpc')).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('serves grpc.health.v1.Health: SERVING for the server and the OpAMP service, NOT_FOUND otherwise', async () => {
    const health = healthClient(server.grpcPort);
    try {
      expect(await healthCheck(health)).toEqual({ status: 'SERVING' });
      expect(await healthCheck(health, 'opampcommander.v1.OpAMPTransport')).toEqual({ status: 'SERVING' });
      expect(await healthCheck(health, 'no.such.Service')).toEqual({ code: grpc.status.NOT_FOUND });
      const watch = health.Watch({ service: '' });
      const first = await new Promise((resolve) => watch.once('data', resolve));
      expect(first).toEqual({ status: 'SERVING' });
      watch.on('error', () => undefined);
      watch.cancel();
    } finally {
      health.close();
    }
    const ready = (await (await fetch(`http://127.0.0.1:${server.apiPort}/readyz`)).json()) as { details: { listeners: object } };
    expect(ready.details.listeners).toMatchObject({ status: 'up', grpc: true });
  });
});

describe('OpAMP over gRPC: admission control', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ OPAMP_MAX_CONNECTIONS: '2', OPAMP_RETRY_AFTER_SECONDS: '42' });
  });
  afterAll(() => server?.close());

  it('counts open streams (silent ones too), refuses streams beyond the limit with UNAVAILABLE and a retry hint, and keeps serving those open', async () => {
    const a = GrpcTestAgent.open(server.grpcPort);
    const ua = newAgentUid();
    expect((await a.exchange(hello(ua.bytes, 'a'))).errorResponse).toBeUndefined();
    const b = GrpcTestAgent.open(server.grpcPort); // opens and says nothing
    const transport = server.app.get(GrpcTransport);
    expect(
      await eventually(
        async () => transport.openStreams,
        (n) => n === 2,
      ),
    ).toBe(2);

    const c = GrpcTestAgent.open(server.grpcPort);
    const refused = await c.ended();
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.metadata.get('retry-after')).toEqual(['42']);
    expect(refused.metadata.get('grpc-retry-pushback-ms')).toEqual(['42000']);

    expect((await a.exchange({ instanceUid: ua.bytes, sequenceNum: 1, capabilities: ReportsStatus })).errorResponse).toBeUndefined();
    [a, b, c].forEach((x) => x.close());
  });
});

describe('OpAMP over gRPC: TLS and shutdown', () => {
  let server: TestServer;
  beforeAll(async () => {
    const { certFile, keyFile } = writeTestTlsFiles();
    server = await startTestServer({ GRPC_TLS_CERT_FILE: certFile, GRPC_TLS_KEY_FILE: keyFile, SHUTDOWN_GRACE_SECONDS: '5' });
  });
  afterAll(() => server?.close());

  it('speaks TLS with the configured certificate and refuses plaintext', async () => {
    const uid = newAgentUid();
    const tls = GrpcTestAgent.open(server.grpcPort, { credentials: channelCredentials(TEST_TLS_CERT), host: 'localhost' });
    const reply = await tls.exchange(hello(uid.bytes, 'over-tls'));
    expect(reply.instanceUid).toEqual(uid.bytes);
    expect((await getAgent(server, uid.text)).body.status).toMatchObject({ connected: true, connection: { transport: 'grpc' } });
    tls.close();

    const plain = GrpcTestAgent.open(server.grpcPort);
    expect((await plain.ended()).code).toBe(grpc.status.UNAVAILABLE);
    plain.close();
  });

  it('on shutdown turns health NOT_SERVING, ends open streams with UNAVAILABLE and records the agents offline', async () => {
    const creds = channelCredentials(TEST_TLS_CERT);
    const agent = GrpcTestAgent.open(server.grpcPort, { credentials: creds, host: 'localhost' });
    const uid = newAgentUid();
    await agent.exchange(hello(uid.bytes, 'shutdown'));
    const health = healthClient(server.grpcPort, creds, 'localhost');
    const watch = health.Watch({ service: '' });
    const seen: string[] = [];
    watch.on('data', (m: { status: string }) => seen.push(m.status));
    watch.on('error', () => undefined);
    const watchEnded = new Promise<grpc.StatusObject>((r) => watch.once('status', r));
    await new Promise((r) => watch.once('data', r));

    await server.close();
    expect(await agent.ended()).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'server shutting down' });
    expect((await watchEnded).code).toBe(grpc.status.UNAVAILABLE);
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    agent.close();
    health.close();

    // The stream's end was handled before the database went away: another replica (a fresh
    // server on the same database, with a name of its own so its start-up clean-up of its own
    // stale connections does not apply) sees the agent disconnected.
    const next = await startTestServer({ REPLICA_ID: 'another-replica' }, server.database.uri);
    try {
      expect((await getAgent(next, uid.text)).body.status).toMatchObject({ connected: false, connection: { transport: 'grpc' } });
    } finally {
      await next.close();
    }
  });
});
