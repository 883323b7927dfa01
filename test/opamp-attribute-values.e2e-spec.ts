import { create } from '@bufbuild/protobuf';
import { AnyValue, AnyValueSchema, ArrayValueSchema, KeyValue, KeyValueListSchema, KeyValueSchema } from '../src/gen/opamp/v1/anyvalue_pb';
import { AgentDescriptionSchema, ServerErrorResponseType } from '../src/gen/opamp/v1/opamp_pb';
import { getAgent } from './support/agents-api';
import { GrpcTestAgent, newAgentUid } from './support/grpc-test-client';
import { agentMessage, description, encodeAgentToServer, httpExchange, newUid, RawWsAgent } from './support/opamp-test-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Issue 14, defect 3: every valid AnyValue is stored, on FerretDB as on MongoDB (nested arrays,
 * keys with `.` or `$`, empty keys, infinite doubles), and the REST view shows the values as the agent sent them.
 * What still cannot be stored (a document over the database's 16 MiB) is a permanent
 * BAD_REQUEST, never a close 1011 / INTERNAL / 503 that sends the agent retrying for ever.
 */
const s = (value: string): AnyValue => create(AnyValueSchema, { value: { case: 'stringValue', value } });
const arr = (...values: AnyValue[]): AnyValue => create(AnyValueSchema, { value: { case: 'arrayValue', value: create(ArrayValueSchema, { values }) } });
const kv = (key: string, value: AnyValue): KeyValue => create(KeyValueSchema, { key, value });
const kvlist = (...values: KeyValue[]): AnyValue => create(AnyValueSchema, { value: { case: 'kvlistValue', value: create(KeyValueListSchema, { values }) } });
const int = (n: bigint): AnyValue => create(AnyValueSchema, { value: { case: 'intValue', value: n } });
const double = (d: number): AnyValue => create(AnyValueSchema, { value: { case: 'doubleValue', value: d } });
const bytes = (b: Buffer): AnyValue => create(AnyValueSchema, { value: { case: 'bytesValue', value: b } });

const REPORTED: KeyValue[] = [
  kv('service.name', s('values')),
  kv('nested', arr(arr(s('a')))),
  kv('deeper', arr(arr(arr(s('x'), int(3n))), arr())),
  kv('tags', arr(s('blue'), s('green'))),
  kv('map', kvlist(kv('a.b', s('dotted')), kv('$x', s('dollar')), kv('', s('empty')), kv('list', arr(arr(s('in')))))),
  kv('big', int(9007199254740993n)),
  kv('raw', bytes(Buffer.from([0, 1, 2]))),
  kv('ratio', double(0.5)),
  kv('inf', arr(double(Infinity), double(-Infinity), double(NaN))),
];
const EXPECTED = {
  'service.name': 'values',
  nested: [['a']],
  deeper: [[['x', 3]], []],
  tags: ['blue', 'green'],
  map: { 'a.b': 'dotted', $x: 'dollar', '': 'empty', list: [['in']] },
  big: '9007199254740993',
  raw: 'AAEC',
  ratio: 0.5,
  inf: ['Infinity', '-Infinity', 'NaN'],
};

describe('attribute values every database can store', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Limits raised so that a report over the database's 16 MiB document limit can be sent at all.
    server = await startTestServer({ OPAMP_MAX_MESSAGE_BYTES: String(40 * 1024 * 1024), OPAMP_MAX_ATTRIBUTE_VALUE_BYTES: String(16 * 1024 * 1024) });
  });
  afterAll(() => server?.close());

  const reportedDescription = () =>
    create(AgentDescriptionSchema, { identifyingAttributes: REPORTED, nonIdentifyingAttributes: [kv('host.tags', arr(arr(s('h'))))] });

  it('WebSocket: an attribute [["a"]] and its kin register and read back unchanged', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    try {
      const answer = await agent.exchange(agentMessage({ instanceUid: uid.bytes, capabilities: 1n, agentDescription: reportedDescription() }));
      expect(answer.errorResponse).toBeUndefined();
      const view = (await getAgent(server, uid.text)).body.status.description;
      expect(view.identifyingAttributes).toEqual(EXPECTED);
      expect(view.nonIdentifyingAttributes).toEqual({ 'host.tags': [['h']] });
    } finally {
      await agent.close();
    }
  });

  it('plain HTTP and gRPC: the same values register too', async () => {
    const h = newUid();
    const res = await httpExchange(
      server.opampPort,
      encodeAgentToServer(agentMessage({ instanceUid: h.bytes, capabilities: 1n, agentDescription: reportedDescription() })),
    );
    expect(res.status).toBe(200);
    expect(res.message?.errorResponse).toBeUndefined();
    expect((await getAgent(server, h.text)).body.status.description.identifyingAttributes).toEqual(EXPECTED);

    const g = newAgentUid();
    const stream = GrpcTestAgent.open(server.grpcPort);
    try {
      const answer = await stream.exchange({
        instanceUid: g.bytes,
        capabilities: 1,
        agentDescription: {
          identifyingAttributes: [{ key: 'nested', value: { arrayValue: { values: [{ arrayValue: { values: [{ stringValue: 'a' }] } }] } } }],
        },
      });
      expect(answer.errorResponse).toBeUndefined();
      expect((await getAgent(server, g.text)).body.status.description.identifyingAttributes).toEqual({ nested: [['a']] });
    } finally {
      stream.cancel();
      stream.close();
    }
  });

  it('selectors still see the elements of an array attribute', async () => {
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    try {
      await agent.exchange(agentMessage({ instanceUid: uid.bytes, capabilities: 1n, agentDescription: reportedDescription() }));
      const res = await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/agents?selector=${encodeURIComponent('tags=green')}`, { headers: server.authHeaders });
      const names = ((await res.json()) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);
      expect(names).toContain(uid.text);
    } finally {
      await agent.close();
    }
  });

  it('a report the database cannot store (over its 16 MiB document limit) is a permanent BAD_REQUEST on every transport, and the agent can go on', async () => {
    const huge = () =>
      create(AgentDescriptionSchema, {
        identifyingAttributes: [kv('service.name', s('huge')), kv('a', s('x'.repeat(9 * 1024 * 1024))), kv('b', s('y'.repeat(9 * 1024 * 1024)))],
      });
    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    try {
      const answer = await agent.exchange(agentMessage({ instanceUid: uid.bytes, capabilities: 1n, agentDescription: huge() }));
      expect(answer.errorResponse?.type).toBe(ServerErrorResponseType.ServerErrorResponseType_BadRequest);
      expect(answer.errorResponse?.errorMessage).toMatch(/cannot be stored/);
      expect(agent.closeCode).toBeUndefined();
      const ok = await agent.exchange(
        agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, capabilities: 1n, agentDescription: description({ 'service.name': 'small' }) }),
      );
      expect(ok.errorResponse).toBeUndefined();
      expect((await getAgent(server, uid.text)).body.status.description.identifyingAttributes).toEqual({ 'service.name': 'small' });
    } finally {
      await agent.close();
    }

    const h = newUid();
    const res = await httpExchange(server.opampPort, encodeAgentToServer(agentMessage({ instanceUid: h.bytes, capabilities: 1n, agentDescription: huge() })));
    expect(res.status).toBe(200);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.message?.errorResponse?.type).toBe(ServerErrorResponseType.ServerErrorResponseType_BadRequest);

    const g = newAgentUid();
    const stream = GrpcTestAgent.open(server.grpcPort);
    try {
      const big = 'z'.repeat(9 * 1024 * 1024);
      const answer = await stream.exchange({
        instanceUid: g.bytes,
        capabilities: 1,
        agentDescription: {
          identifyingAttributes: [
            { key: 'a', value: { stringValue: big } },
            { key: 'b', value: { stringValue: big } },
          ],
        },
      });
      expect(answer.errorResponse?.type).toBe('ServerErrorResponseType_BadRequest');
      expect(stream.status).toBeUndefined();
    } finally {
      stream.cancel();
      stream.close();
    }
  });
});
