import { create } from '@bufbuild/protobuf';
import { AnyValueSchema, KeyValueSchema } from '../src/gen/opamp/v1/anyvalue_pb';
import {
  AgentConfigFileSchema,
  AgentConfigMapSchema,
  AgentDescriptionSchema,
  AgentDescription,
  AgentToServer,
  ComponentHealth,
  ComponentHealthSchema,
  EffectiveConfig,
  EffectiveConfigSchema,
  ServerErrorResponseType,
} from '../src/gen/opamp/v1/opamp_pb';
import { getAgent } from './support/agents-api';
import { attributes, GrpcTestAgent, newAgentUid } from './support/grpc-test-client';
import { agentMessage, description, encodeAgentToServer, httpExchange, newUid, RawWsAgent } from './support/opamp-test-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Issue 14, defect 2: what one report may make the server store is bounded, by settings with
 * defaults a real Collector stays far below. A report over a limit is refused whole (nothing of
 * it stored, not even its other parts) with error_response BAD_REQUEST naming the limit and its
 * setting, on every transport. Issue 14, defect 12: over plain HTTP that answer is a 200 carrying
 * the error_response (opamp-go's HTTP client drops the body of any other status, so the agent
 * would never see why); only an undecodable body is a 400.
 */
const ReportsStatus = 0x1n | 0x4n | 0x800n; // ReportsStatus | ReportsEffectiveConfig | ReportsHealth
const BAD_REQUEST = ServerErrorResponseType.ServerErrorResponseType_BadRequest;

const manyAttributes = (n: number) =>
  create(AgentDescriptionSchema, {
    identifyingAttributes: [create(KeyValueSchema, { key: 'service.name', value: create(AnyValueSchema, { value: { case: 'stringValue', value: 'wide' } }) })],
    nonIdentifyingAttributes: Array.from({ length: n - 1 }, (_, i) =>
      create(KeyValueSchema, { key: `attr.${i}`, value: create(AnyValueSchema, { value: { case: 'stringValue', value: 'v' } }) }),
    ),
  });
const effectiveConfig = (bytes: number) =>
  create(EffectiveConfigSchema, {
    configMap: create(AgentConfigMapSchema, {
      configMap: { '': create(AgentConfigFileSchema, { body: Buffer.alloc(bytes, 0x61), contentType: 'text/yaml' }) },
    }),
  });
function deepHealth(levels: number): ComponentHealth {
  let h = create(ComponentHealthSchema, { healthy: true, status: 'leaf' });
  for (let i = 0; i < levels; i++) h = create(ComponentHealthSchema, { healthy: true, componentHealthMap: { [`level${i}`]: h } });
  return h;
}

describe('limits on what a report stores (defaults)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const overLimit: [string, (uid: Uint8Array) => AgentToServer, RegExp][] = [
    [
      '257 attributes',
      (uid) => agentMessage({ instanceUid: uid, capabilities: ReportsStatus, agentDescription: manyAttributes(257) }),
      /257 attributes, over the limit of 256 \(OPAMP_MAX_ATTRIBUTES\)/,
    ],
    [
      'a 16 KiB + 1 attribute value',
      (uid) => agentMessage({ instanceUid: uid, capabilities: ReportsStatus, agentDescription: description({ 'service.name': 'x'.repeat(16 * 1024 + 1) }) }),
      /limit of 16384 \(OPAMP_MAX_ATTRIBUTE_VALUE_BYTES\)/,
    ],
    [
      'a 257-byte attribute key',
      (uid) => agentMessage({ instanceUid: uid, capabilities: ReportsStatus, agentDescription: description({ ['k'.repeat(257)]: 'v' }) }),
      /OPAMP_MAX_ATTRIBUTE_KEY_BYTES/,
    ],
    [
      'a 1 MiB + 1 effective config file',
      (uid) =>
        agentMessage({
          instanceUid: uid,
          capabilities: ReportsStatus,
          agentDescription: description({ 'service.name': 'big-config' }),
          effectiveConfig: effectiveConfig(1024 * 1024 + 1),
        }),
      /limit of 1048576 \(OPAMP_MAX_EFFECTIVE_CONFIG_FILE_BYTES\)/,
    ],
    [
      'a health tree 9 levels deep',
      (uid) =>
        agentMessage({ instanceUid: uid, capabilities: ReportsStatus, agentDescription: description({ 'service.name': 'deep' }), health: deepHealth(9) }),
      /OPAMP_MAX_HEALTH_DEPTH/,
    ],
  ];

  it.each(overLimit)(
    'WebSocket: %s is refused with BAD_REQUEST naming the limit; nothing of the report is stored; the socket stays usable',
    async (_n, make, pattern) => {
      const uid = newUid();
      const agent = await RawWsAgent.connect(server.opampPort);
      try {
        const answer = await agent.exchange(make(uid.bytes));
        expect(answer.errorResponse?.type).toBe(BAD_REQUEST);
        expect(answer.errorResponse?.errorMessage).toMatch(pattern);
        expect(answer.errorResponse?.errorMessage).toMatch(/nothing of it stored/);
        expect((await getAgent(server, uid.text)).status).toBe(404);
        // A report within the limits is then taken as usual.
        const ok = await agent.exchange(
          agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, capabilities: ReportsStatus, agentDescription: description({ 'service.name': 'fine' }) }),
        );
        expect(ok.errorResponse).toBeUndefined();
        expect((await getAgent(server, uid.text)).body.status.description.identifyingAttributes).toEqual({ 'service.name': 'fine' });
      } finally {
        await agent.close();
      }
    },
  );

  it('a known agent reporting over a limit keeps what was stored: no part of the refused report lands', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    try {
      await agent.exchange(
        agentMessage({
          instanceUid: uid.bytes,
          capabilities: ReportsStatus,
          agentDescription: description({ 'service.name': 'before' }),
          effectiveConfig: effectiveConfig(10),
        }),
      );
      const refused = await agent.exchange(
        agentMessage({
          instanceUid: uid.bytes,
          sequenceNum: 1n,
          capabilities: ReportsStatus,
          agentDescription: description({ 'service.name': 'after' }),
          effectiveConfig: effectiveConfig(1024 * 1024 + 1),
        }),
      );
      expect(refused.errorResponse?.type).toBe(BAD_REQUEST);
      const stored = (await getAgent(server, uid.text)).body.status;
      expect(stored.description.identifyingAttributes).toEqual({ 'service.name': 'before' });
      expect(stored.effectiveConfig.configMap[''].body).toBe('a'.repeat(10));
    } finally {
      await agent.close();
    }
  });

  it('plain HTTP: a report over a limit gets 200 with error_response BAD_REQUEST (docs/opamp.md says so); a malformed uid too; undecodable bytes 400', async () => {
    const uid = newUid();
    const over = await httpExchange(server.opampPort, encodeAgentToServer(overLimit[0][1](uid.bytes)));
    expect(over.status).toBe(200);
    expect(over.headers.get('content-type')).toBe('application/x-protobuf');
    expect(over.message?.errorResponse?.type).toBe(BAD_REQUEST);
    expect(over.message?.errorResponse?.errorMessage).toMatch(/OPAMP_MAX_ATTRIBUTES/);
    expect((await getAgent(server, uid.text)).status).toBe(404);
    const badUid = await httpExchange(server.opampPort, encodeAgentToServer(agentMessage({ instanceUid: Buffer.from('short') })));
    expect(badUid.status).toBe(200);
    expect(badUid.message?.errorResponse?.type).toBe(BAD_REQUEST);
    expect(badUid.message?.errorResponse?.errorMessage).toMatch(/instance_uid must be 16 bytes/);
    expect((await httpExchange(server.opampPort, Buffer.from([0xff, 0xff, 0xff]))).status).toBe(400);
  });

  it('gRPC: a report over a limit is answered BAD_REQUEST and the stream stays open', async () => {
    const uid = newAgentUid();
    const stream = GrpcTestAgent.open(server.grpcPort);
    try {
      const wide = [
        { key: 'service.name', value: { stringValue: 'grpc-wide' } },
        ...Array.from({ length: 300 }, (_, i) => ({ key: `a${i}`, value: { stringValue: 'v' } })),
      ];
      const refused = await stream.exchange({ instanceUid: uid.bytes, capabilities: 1, agentDescription: { identifyingAttributes: wide } });
      expect(refused.errorResponse?.type).toBe('ServerErrorResponseType_BadRequest');
      expect(refused.errorResponse?.errorMessage).toMatch(/OPAMP_MAX_ATTRIBUTES/);
      expect((await getAgent(server, uid.text)).status).toBe(404);
      const ok = await stream.exchange({
        instanceUid: uid.bytes,
        sequenceNum: 1,
        capabilities: 1,
        agentDescription: { identifyingAttributes: attributes({ 'service.name': 'grpc-fine' }) },
      });
      expect(ok.errorResponse).toBeUndefined();
      expect((await getAgent(server, uid.text)).status).toBe(200);
    } finally {
      stream.cancel();
      stream.close();
    }
  });

  it('the default message limit is 4 MiB: a 5 MiB HTTP body gets 413', async () => {
    const res = await httpExchange(server.opampPort, Buffer.alloc(5 * 1024 * 1024, 1));
    expect(res.status).toBe(413);
  });
});

describe('limits on what a report stores (configured)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ OPAMP_MAX_ATTRIBUTES: '3', OPAMP_MAX_EFFECTIVE_CONFIG_BYTES: '100', OPAMP_MAX_HEALTH_COMPONENTS: '2' });
  });
  afterAll(() => server?.close());

  it('follows the settings', async () => {
    const agent = await RawWsAgent.connect(server.opampPort);
    try {
      const uid = newUid().bytes;
      let seq = 0n;
      const send = async (m: { agentDescription?: AgentDescription; effectiveConfig?: EffectiveConfig; health?: ComponentHealth }) =>
        (await agent.exchange(agentMessage({ instanceUid: uid, sequenceNum: seq++, capabilities: ReportsStatus, ...m }))).errorResponse?.errorMessage;
      expect(await send({ agentDescription: manyAttributes(3) })).toBeUndefined();
      expect(await send({ agentDescription: manyAttributes(4) })).toMatch(/limit of 3 \(OPAMP_MAX_ATTRIBUTES\)/);
      expect(await send({ effectiveConfig: effectiveConfig(200) })).toMatch(/OPAMP_MAX_EFFECTIVE_CONFIG_BYTES/);
      const wide = create(ComponentHealthSchema, {
        componentHealthMap: { a: create(ComponentHealthSchema, {}), b: create(ComponentHealthSchema, {}), c: create(ComponentHealthSchema, {}) },
      });
      expect(await send({ health: wide })).toMatch(/OPAMP_MAX_HEALTH_COMPONENTS/);
    } finally {
      await agent.close();
    }
  });
});
