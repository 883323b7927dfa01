import { AgentCapabilities as Cap, AgentToServerFlags, ServerCapabilities, ServerErrorResponseType, ServerToAgentFlags } from '../src/gen/opamp/v1/opamp_pb';
import { create } from '@bufbuild/protobuf';
import { AgentDisconnectSchema, ComponentHealthSchema, EffectiveConfigSchema, AgentConfigMapSchema, AgentConfigFileSchema } from '../src/gen/opamp/v1/opamp_pb';
import { uidToText } from '../src/protocol/instance-uid';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { startTestServer, TestServer } from './support/test-server';
import { eventually, getAgent } from './support/agents-api';

const caps = (...c: Cap[]) => c.reduce((a, b) => a | BigInt(b), 0n);
const REPORTS = caps(Cap.AgentCapabilities_ReportsStatus, Cap.AgentCapabilities_ReportsHealth, Cap.AgentCapabilities_ReportsEffectiveConfig);

describe('OpAMP over WebSocket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ OPAMP_MAX_MESSAGE_BYTES: String(64 * 1024) });
  });
  afterAll(() => server?.close());

  it('discovers an agent from its first message and keeps what it reports', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    const reply = await agent.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: 0n,
        capabilities: REPORTS,
        agentDescription: description({ 'service.name': 'checkout', 'service.version': '1.2.3' }, { 'host.name': 'node-1' }),
        health: create(ComponentHealthSchema, {
          healthy: true,
          startTimeUnixNano: 1_700_000_000_000_000_000n,
          status: 'StatusOK',
          componentHealthMap: { 'pipeline:traces': create(ComponentHealthSchema, { healthy: false, lastError: 'exporter down' }) },
        }),
        effectiveConfig: create(EffectiveConfigSchema, {
          configMap: create(AgentConfigMapSchema, {
            configMap: { '': create(AgentConfigFileSchema, { body: Buffer.from('receivers:\n  otlp: {}\n'), contentType: 'text/yaml' }) },
          }),
        }),
      }),
    );
    expect(Buffer.from(reply.instanceUid)).toEqual(Buffer.from(uid.bytes));
    expect(reply.capabilities & BigInt(ServerCapabilities.ServerCapabilities_AcceptsStatus)).not.toBe(0n);
    expect(reply.flags).toBe(0n); // nothing missing: no ReportFullState
    expect(reply.errorResponse).toBeUndefined();

    const { status, body } = await getAgent(server, uid.text);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      kind: 'Agent',
      apiVersion: 'v1',
      metadata: { name: uid.text },
      status: {
        connected: true,
        connection: { transport: 'websocket', remoteAddress: expect.stringContaining('127.0.0.1'), sequenceNum: 0 },
        description: {
          identifyingAttributes: { 'service.name': 'checkout', 'service.version': '1.2.3' },
          nonIdentifyingAttributes: { 'host.name': 'node-1' },
        },
        capabilities: { names: ['ReportsStatus', 'ReportsEffectiveConfig', 'ReportsHealth'] },
        health: { healthy: true, status: 'StatusOK', components: { 'pipeline:traces': { healthy: false, lastError: 'exporter down' } } },
        effectiveConfig: { configMap: { '': { contentType: 'text/yaml', body: 'receivers:\n  otlp: {}\n' } } },
      },
    });

    // A heartbeat is acknowledged with the uid alone: no capabilities after the first answer, no flags.
    const ack = await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, capabilities: REPORTS }));
    expect(ack.capabilities).toBe(0n);
    expect(ack.flags).toBe(0n);
    expect(Buffer.from(ack.instanceUid)).toEqual(Buffer.from(uid.bytes));

    await agent.close();
    const after = await eventually(
      () => getAgent(server, uid.text),
      (r) => r.body.status.connected === false,
    );
    expect(after.body.status.connected).toBe(false);
    expect(after.body.status.description.identifyingAttributes['service.name']).toBe('checkout');
  });

  it('asks for full state once when a promised part is missing after a gap, and not again for the same number', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    // Promises health and effective config but sends neither: the server lacks them.
    const first = await agent.exchange(
      agentMessage({ instanceUid: uid.bytes, sequenceNum: 7n, capabilities: REPORTS, agentDescription: description({ 'service.name': 'x' }) }),
    );
    expect(first.flags & BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState)).not.toBe(0n);
    // Java-style repetition of the same number: never ask twice for one sequence number.
    const repeat = await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 7n, capabilities: REPORTS }));
    expect(repeat.flags).toBe(0n);
    // In order (7 → 8) with parts still missing: no gap, no request.
    const next = await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 8n, capabilities: REPORTS }));
    expect(next.flags).toBe(0n);
    // A gap (8 → 20) with parts missing: ask again.
    const gap = await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 20n, capabilities: REPORTS }));
    expect(gap.flags & BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState)).not.toBe(0n);
    // The full state arrives; after that a gap asks nothing (nothing is missing).
    await agent.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: 21n,
        capabilities: REPORTS,
        health: create(ComponentHealthSchema, { healthy: true }),
        effectiveConfig: create(EffectiveConfigSchema, { configMap: create(AgentConfigMapSchema, {}) }),
      }),
    );
    const gap2 = await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 40n, capabilities: REPORTS }));
    expect(gap2.flags).toBe(0n);
    await agent.close();
  });

  it('asks a known agent that reconnects for its full state when its number does not follow the last one taken', async () => {
    const uid = newUid();
    const full = (seq: bigint) =>
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: seq,
        capabilities: REPORTS,
        agentDescription: description({ 'service.name': 'reconnecting' }),
        health: create(ComponentHealthSchema, { healthy: true }),
        effectiveConfig: create(EffectiveConfigSchema, { configMap: create(AgentConfigMapSchema, {}) }),
      });
    const bare = (seq: bigint) => agentMessage({ instanceUid: uid.bytes, sequenceNum: seq, capabilities: REPORTS });
    const reconnect = async (msg: ReturnType<typeof bare>) => {
      await eventually(
        () => getAgent(server, uid.text),
        (r) => r.body.status.connected === false,
      );
      const agent = await RawWsAgent.connect(server.opampPort);
      const reply = await agent.exchange(msg);
      return { agent, reply };
    };
    const first = await RawWsAgent.connect(server.opampPort);
    expect((await first.exchange(full(0n))).flags).toBe(0n);
    expect((await first.exchange(bare(1n))).flags).toBe(0n);
    await first.close();
    // opamp-go on a new connection: the next number and nothing else. It follows 1: nothing was lost.
    const second = await reconnect(bare(2n));
    expect(second.reply.flags).toBe(0n);
    await second.agent.close();
    // Messages 3 and 4 never reached the server (it died reading them): the gap asks for the full state.
    const third = await reconnect(bare(5n));
    expect(third.reply.flags & BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState)).not.toBe(0n);
    expect((await third.agent.exchange(full(6n))).flags).toBe(0n);
    await third.agent.close();
    // A gap whose first message brings everything again needs nothing more.
    const fourth = await reconnect(full(9n));
    expect(fourth.reply.flags).toBe(0n);
    await fourth.agent.close();
  });

  it('gives a new instance uid on RequestInstanceUid and keeps the agent under it', async () => {
    const old = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    const reply = await agent.exchange(
      agentMessage({
        instanceUid: old.bytes,
        sequenceNum: 0n,
        capabilities: caps(Cap.AgentCapabilities_ReportsStatus),
        flags: BigInt(AgentToServerFlags.AgentToServerFlags_RequestInstanceUid),
        agentDescription: description({ 'service.name': 'renamed' }),
      }),
    );
    expect(Buffer.from(reply.instanceUid)).toEqual(Buffer.from(old.bytes)); // still answers to the old uid
    const fresh = reply.agentIdentification!.newInstanceUid;
    expect(fresh.length).toBe(16);
    const freshText = uidToText(fresh);
    expect(freshText).not.toBe(old.text);
    expect((await getAgent(server, old.text)).status).toBe(404);
    expect((await getAgent(server, freshText)).body.status.description.identifyingAttributes['service.name']).toBe('renamed');
    const later = await agent.exchange(agentMessage({ instanceUid: fresh, sequenceNum: 1n, capabilities: caps(Cap.AgentCapabilities_ReportsStatus) }));
    expect(Buffer.from(later.instanceUid)).toEqual(Buffer.from(fresh));
    expect(later.flags).toBe(0n);
    await agent.close();
  });

  it('asks for the available components once when their hash is unknown, and serves them by agent', async () => {
    const { AvailableComponentsSchema, ComponentDetailsSchema } = await import('../src/gen/opamp/v1/opamp_pb');
    const uid = newUid();
    const hash = Buffer.from('components-hash-1');
    const capsWithComponents = caps(Cap.AgentCapabilities_ReportsStatus, Cap.AgentCapabilities_ReportsAvailableComponents);
    const agent = await RawWsAgent.connect(server.opampPort);
    const first = await agent.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: 0n,
        capabilities: capsWithComponents,
        agentDescription: description({ 'service.name': 'c' }),
        availableComponents: create(AvailableComponentsSchema, { hash }),
      }),
    );
    expect(first.flags & BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportAvailableComponents)).not.toBe(0n);
    const onlyHash = await getAgent(server, uid.text);
    expect(onlyHash.body.status.availableComponents).toEqual({ hash: hash.toString('hex') });
    const full = await agent.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: 1n,
        capabilities: capsWithComponents,
        availableComponents: create(AvailableComponentsSchema, {
          hash,
          components: { receivers: create(ComponentDetailsSchema, { subComponentMap: { otlp: create(ComponentDetailsSchema, {}) } }) },
        }),
      }),
    );
    expect(full.flags).toBe(0n);
    const res = await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/agents/${uid.text}/available-components`, { headers: server.authHeaders });
    expect(await res.json()).toMatchObject({ hash: hash.toString('hex'), components: [{ name: 'receivers', components: [{ name: 'otlp' }] }] });
    // A second agent with the same hash is never asked: the catalogue is kept by hash.
    const other = newUid();
    const again = await agent.exchange(
      agentMessage({
        instanceUid: other.bytes,
        sequenceNum: 0n,
        capabilities: capsWithComponents,
        availableComponents: create(AvailableComponentsSchema, { hash }),
      }),
    );
    expect(again.flags & BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportAvailableComponents)).toBe(0n);
    await agent.close();
  });

  it('keeps the agent connected when an older duplicate connection closes', async () => {
    const uid = newUid();
    const d = description({ 'service.name': 'dup' });
    const oldConn = await RawWsAgent.connect(server.opampPort);
    await oldConn.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: d }));
    const newConn = await RawWsAgent.connect(server.opampPort);
    const r = await newConn.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, capabilities: 1n, agentDescription: d }));
    expect(r.capabilities).not.toBe(0n); // first answer on the new connection carries capabilities
    await oldConn.close();
    await new Promise((res) => setTimeout(res, 300));
    expect((await getAgent(server, uid.text)).body.status.connected).toBe(true);
    await newConn.close();
    expect(
      (
        await eventually(
          () => getAgent(server, uid.text),
          (x) => !x.body.status.connected,
        )
      ).body.status.connected,
    ).toBe(false);
  });

  it('assigns a clone a new uid instead of mixing two agents', async () => {
    const uid = newUid();
    const a = await RawWsAgent.connect(server.opampPort);
    await a.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': 'a' }) }));
    const b = await RawWsAgent.connect(server.opampPort);
    const r = await b.exchange(
      agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': 'b' }) }),
    );
    expect(r.agentIdentification?.newInstanceUid.length).toBe(16);
    expect((await getAgent(server, uid.text)).body.status.description.identifyingAttributes['service.name']).toBe('a');
    await a.close();
    await b.close();
  });

  it('ends the session at once on agent_disconnect', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': 'bye' }) }));
    await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, agentDisconnect: create(AgentDisconnectSchema, {}) }));
    expect((await getAgent(server, uid.text)).body.status.connected).toBe(false);
    await agent.close();
  });

  it('accepts frames without the header byte (pre-2023 clients) and on /api/v1/opamp', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort, '/api/v1/opamp');
    const { encodeAgentToServer } = await import('../src/opamp-gateway/protocol/opamp-codec');
    agent.sendRaw(
      Buffer.from(
        encodeAgentToServer(
          agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': 'old' }) }),
        ),
      ),
    );
    const reply = await agent.nth(1);
    expect(Buffer.from(reply.instanceUid)).toEqual(Buffer.from(uid.bytes));
    expect(reply.errorResponse).toBeUndefined();
    await agent.close();
  });

  describe('bad input', () => {
    const bad = BigInt(ServerErrorResponseType.ServerErrorResponseType_BadRequest);

    it('answers undecodable bytes, a non-zero header and a wrong-length uid with BAD_REQUEST and keeps the socket usable', async () => {
      const agent = await RawWsAgent.connect(server.opampPort);
      agent.sendRaw(Buffer.from([0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])); // truncated / invalid protobuf
      const r1 = await agent.nth(1);
      expect(BigInt(r1.errorResponse!.type)).toBe(bad);
      expect(r1.capabilities).toBe(0n);
      agent.sendRaw(Buffer.from([0x85, 0x01, 0x0a, 0x00])); // header 133
      const r2 = await agent.nth(2);
      expect(r2.errorResponse?.errorMessage).toMatch(/header must be 0/);
      const r3 = await agent.exchange(agentMessage({ instanceUid: Buffer.from('short'), sequenceNum: 0n }));
      expect(BigInt(r3.errorResponse!.type)).toBe(bad);
      expect(r3.errorResponse!.errorMessage).toMatch(/16 bytes/);
      expect(r3.flags).toBe(0n);
      const uid = newUid();
      const ok = await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n }));
      expect(ok.errorResponse).toBeUndefined();
      expect((await getAgent(server, uid.text)).status).toBe(200);
      await agent.close();
    });

    it('closes text frames with 1003 and oversized frames with 1009', async () => {
      const t = await RawWsAgent.connect(server.opampPort);
      t.sendRaw('hello');
      expect(await t.closed()).toBe(1003);
      const big = await RawWsAgent.connect(server.opampPort);
      big.sendRaw(Buffer.alloc(65 * 1024, 1));
      expect(await big.closed()).toBe(1009);
      const health = await fetch(`http://127.0.0.1:${server.apiPort}/healthz`);
      expect(health.status).toBe(200);
    });

    it('survives a socket closed in the middle of a message', async () => {
      const net = await import('node:net');
      const sock = net.connect(server.opampPort, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      sock.write(
        'GET /v1/opamp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await new Promise((r) => sock.once('data', r));
      // A masked binary frame header announcing 1000 bytes, then only 3 of them, then gone.
      sock.write(Buffer.from([0x82, 0xfe, 0x03, 0xe8, 1, 2, 3, 4, 0, 0, 0]));
      sock.destroy();
      await new Promise((r) => setTimeout(r, 200));
      const uid = newUid();
      const agent = await RawWsAgent.connect(server.opampPort);
      expect((await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n }))).errorResponse).toBeUndefined();
      await agent.close();
    });
  });
});

describe('dead sockets', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ OPAMP_WS_PING_INTERVAL_SECONDS: '1' });
  });
  afterAll(() => server?.close());

  it('are closed when they stop answering pings, while a live agent stays', async () => {
    const net = await import('node:net');
    const live = await RawWsAgent.connect(server.opampPort); // the ws client answers pings by itself
    const sock = net.connect(server.opampPort, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(
      'GET /v1/opamp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise((r) => sock.once('data', r));
    sock.on('data', () => undefined); // reads the pings, never answers them
    const closedAt = await new Promise<number>((resolve) => sock.once('close', () => resolve(Date.now())));
    expect(closedAt).toBeGreaterThan(0);
    expect(live.closeCode).toBeUndefined();
    await live.close();
  });
});

describe('admission control', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ OPAMP_MAX_CONNECTIONS: '2', OPAMP_RETRY_AFTER_SECONDS: '42' });
  });
  afterAll(() => server?.close());

  it('refuses connections beyond the limit with 503 + Retry-After and keeps serving those already connected', async () => {
    const a = await RawWsAgent.connect(server.opampPort);
    const b = await RawWsAgent.connect(server.opampPort);
    let refused: { status?: number; headers?: Record<string, string> } = {};
    try {
      await RawWsAgent.connect(server.opampPort);
    } catch (err) {
      refused = err as typeof refused;
    }
    expect(refused.status).toBe(503);
    expect(refused.headers?.['retry-after']).toBe('42');
    const uid = newUid();
    expect((await a.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n }))).errorResponse).toBeUndefined();
    await a.close();
    await b.close();
  });
});
