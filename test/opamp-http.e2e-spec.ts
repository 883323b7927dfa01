import { create } from '@bufbuild/protobuf';
import * as diagnostics from 'node:diagnostics_channel';
import { gzipSync } from 'node:zlib';
import { AgentDisconnectSchema, ServerCapabilities, ServerErrorResponseType } from '../src/gen/opamp/v1/opamp_pb';
import { eventually, getAgent } from './support/agents-api';
import { agentMessage, description, encodeAgentToServer, httpExchange, newUid } from './support/opamp-test-client';
import { startTestServer, TestServer } from './support/test-server';

const ACCEPTS_STATUS = BigInt(ServerCapabilities.ServerCapabilities_AcceptsStatus);

describe('OpAMP over plain HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A 1 s poll interval so that "missed 3 polls" happens within a test.
    server = await startTestServer({ OPAMP_MAX_MESSAGE_BYTES: String(64 * 1024), OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
  });
  afterAll(() => server?.close());

  it('answers every POST with exactly application/x-protobuf, capabilities included each time', async () => {
    const uid = newUid();
    const first = await httpExchange(
      server.opampPort,
      encodeAgentToServer(
        agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, capabilities: 1n, agentDescription: description({ 'service.name': 'poller' }) }),
      ),
    );
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/x-protobuf');
    expect(first.message!.capabilities & ACCEPTS_STATUS).toBe(ACCEPTS_STATUS);
    expect(Buffer.from(first.message!.instanceUid)).toEqual(Buffer.from(uid.bytes));

    const second = await httpExchange(server.opampPort, encodeAgentToServer(agentMessage({ instanceUid: uid.bytes, sequenceNum: 2n, capabilities: 1n })));
    expect(second.message!.capabilities & ACCEPTS_STATUS).toBe(ACCEPTS_STATUS);
    expect(second.message!.flags).toBe(0n);

    const agent = await getAgent(server, uid.text);
    expect(agent.body.status).toMatchObject({ connected: true, connection: { transport: 'http', sequenceNum: 2 } });
    // Missing 3 poll intervals (3 s here) makes it disconnected, without any message.
    const later = await eventually(
      () => getAgent(server, uid.text),
      (r) => r.body.status.connected === false,
      10_000,
    );
    expect(later.body.status.connected).toBe(false);
    // Polling again brings it back.
    await httpExchange(server.opampPort, encodeAgentToServer(agentMessage({ instanceUid: uid.bytes, sequenceNum: 3n })));
    expect((await getAgent(server, uid.text)).body.status.connected).toBe(true);
  });

  it('accepts a gzip body, and an agent_disconnect ends the session at once', async () => {
    const uid = newUid();
    const body = gzipSync(
      encodeAgentToServer(
        agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': 'zipped' }) }),
      ),
    );
    const r = await httpExchange(server.opampPort, body, { 'content-encoding': 'gzip', 'accept-encoding': 'gzip;q=0' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-encoding')).toBeNull();
    expect((await getAgent(server, uid.text)).body.status.description.identifyingAttributes['service.name']).toBe('zipped');
    await httpExchange(
      server.opampPort,
      encodeAgentToServer(agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, agentDisconnect: create(AgentDisconnectSchema, {}) })),
    );
    expect((await getAgent(server, uid.text)).body.status.connected).toBe(false);
  });

  it('gives every kind of bad input its defined answer and changes nothing stored', async () => {
    const keeper = newUid();
    await httpExchange(
      server.opampPort,
      encodeAgentToServer(
        agentMessage({ instanceUid: keeper.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': 'keeper' }) }),
      ),
    );
    const before = (await getAgent(server, keeper.text)).body.status.description;

    const post = (body: Buffer | Uint8Array, headers: Record<string, string> = {}) => httpExchange(server.opampPort, body, headers);
    const random = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]);

    expect((await post(random)).status).toBe(400);
    const truncated = Buffer.from(
      encodeAgentToServer(agentMessage({ instanceUid: keeper.bytes, agentDescription: description({ 'service.name': 'evil' }) })),
    ).subarray(0, 25);
    expect((await post(truncated)).status).toBe(400);
    expect((await post(Buffer.alloc(0))).status).toBe(400);
    const wrongType = await post(random, { 'content-type': 'application/json' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await post(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' })).status).toBe(400);
    // Over the limit as sent, and over it only after decompression (a gzip bomb: 8 MiB of zeros in ~8 KiB).
    expect((await post(Buffer.alloc(70 * 1024, 1))).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((await post(bomb, { 'content-encoding': 'gzip' })).status).toBe(413);
    // Decodable but with a uid of the wrong length: 200 carrying BAD_REQUEST (other statuses make opamp-go drop it).
    const badUid = await post(encodeAgentToServer(agentMessage({ instanceUid: Buffer.from('0123456789'), sequenceNum: 0n })));
    expect(badUid.status).toBe(200);
    expect(badUid.message!.errorResponse!.type).toBe(ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(badUid.message!.capabilities).toBe(0n); // an error answer carries nothing else
    // Not POST.
    const get = await fetch(`http://127.0.0.1:${server.opampPort}/v1/opamp`);
    expect(get.status).toBe(405);
    expect((await fetch(`http://127.0.0.1:${server.opampPort}/elsewhere`, { method: 'POST' })).status).toBe(404);

    expect((await getAgent(server, keeper.text)).body.status.description).toEqual(before);
    expect((await fetch(`http://127.0.0.1:${server.apiPort}/healthz`)).status).toBe(200);
  });
});

describe('the OpAMP-Instance-UID request header (plain HTTP)', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Room for one agent, so admission decisions are visible.
    server = await startTestServer({ OPAMP_MAX_CONNECTIONS: '1' });
  });
  afterAll(() => server?.close());
  const hello = (uid: Uint8Array, name: string) =>
    encodeAgentToServer(agentMessage({ instanceUid: uid, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': name }) }));

  it('is checked against the body: the same uid is served, another is refused with BAD_REQUEST and nothing stored', async () => {
    const agent = newUid();
    const ok = await httpExchange(server.opampPort, hello(agent.bytes, 'header-ok'), { 'OpAMP-Instance-UID': agent.text.toUpperCase() });
    expect(ok.status).toBe(200);
    expect(ok.message!.errorResponse).toBeUndefined();
    expect((await getAgent(server, agent.text)).status).toBe(200);

    const other = newUid();
    const lie = await httpExchange(server.opampPort, hello(other.bytes, 'header-lie'), { 'OpAMP-Instance-UID': agent.text });
    expect(lie.status).toBe(200);
    expect(lie.message!.errorResponse).toMatchObject({ type: ServerErrorResponseType.ServerErrorResponseType_BadRequest });
    expect(lie.message!.errorResponse!.errorMessage).toBe(
      `The opamp-instance-uid header (${agent.text}) does not match the message's instance_uid (${other.text}).`,
    );
    expect((await getAgent(server, other.text)).status).toBe(404);
  });

  it('a malformed header is a 400 problem, not ignored', async () => {
    const agent = newUid();
    const res = await httpExchange(server.opampPort, hello(agent.bytes, 'header-bad'), { 'OpAMP-Instance-UID': 'not-a-uuid' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(JSON.parse(res.bytes.toString()).detail).toMatch(/OpAMP-Instance-UID must be the instance uid as a UUID/);
  });

  it('lets admission refuse a new agent before its body is decoded (503 + Retry-After, even for an undecodable body)', async () => {
    // The one place is taken by the agent of the first test; a known agent is still served.
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]);
    const stranger = newUid();
    const refused = await httpExchange(server.opampPort, garbage, { 'OpAMP-Instance-UID': stranger.text });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    // Without the header the same body has to be decoded first: 400.
    expect((await httpExchange(server.opampPort, garbage)).status).toBe(400);
  });
});

describe('@elastic/opamp-client-node (HTTP) against the server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('is discovered with its description, keeps answering heartbeats, and gets no requests it cannot satisfy', async () => {
    const { createOpAMPClient, DIAG_CH_SEND_SUCCESS, DIAG_CH_SEND_FAIL } = require('@elastic/opamp-client-node');
    const exchanges: { a2s: { sequenceNum: bigint }; s2a: { flags: bigint; capabilities: bigint; errorResponse?: unknown } }[] = [];
    const failures: unknown[] = [];
    const onSuccess = (m: unknown) => exchanges.push(m as (typeof exchanges)[number]);
    const onFail = (m: unknown) => failures.push(m);
    diagnostics.subscribe(DIAG_CH_SEND_SUCCESS, onSuccess);
    diagnostics.subscribe(DIAG_CH_SEND_FAIL, onFail);
    const uid = newUid();
    const client = createOpAMPClient({
      endpoint: `http://127.0.0.1:${server.opampPort}/v1/opamp`,
      instanceUid: uid.bytes,
      heartbeatIntervalSeconds: 0.3,
      diagEnabled: true,
    });
    client.setAgentDescription({
      identifyingAttributes: { 'service.name': 'elastic-sdk', 'service.version': '9.9.9' },
      nonIdentifyingAttributes: { 'host.name': 'laptop' },
    });
    client.start();
    try {
      const agent = await eventually(
        () => getAgent(server, uid.text),
        (r) => r.status === 200,
        10_000,
      );
      expect(agent.body.status).toMatchObject({
        connected: true,
        connection: { transport: 'http' },
        description: {
          identifyingAttributes: { 'service.name': 'elastic-sdk', 'service.version': '9.9.9' },
          nonIdentifyingAttributes: { 'host.name': 'laptop' },
        },
      });
      await eventually(
        async () => exchanges.length,
        (n) => n >= 6,
        10_000,
      );
      expect(failures).toEqual([]);
      expect(exchanges.length).toBeGreaterThanOrEqual(6);
      // Every answer carried capabilities (HTTP) and none asked for full state: Elastic starts at 1 and sends everything first.
      for (const e of exchanges) {
        expect(e.s2a.capabilities & ACCEPTS_STATUS).toBe(ACCEPTS_STATUS);
        expect(e.s2a.flags).toBe(0n);
        expect(e.s2a.errorResponse).toBeUndefined();
      }
      const seqs = exchanges.map((e) => Number(e.a2s.sequenceNum));
      expect(seqs[0]).toBe(1);
      const last = await getAgent(server, uid.text);
      expect(last.body.status.connection.sequenceNum).toBeGreaterThanOrEqual(seqs[seqs.length - 1] - 1);
    } finally {
      await client.shutdown();
      diagnostics.unsubscribe(DIAG_CH_SEND_SUCCESS, onSuccess);
      diagnostics.unsubscribe(DIAG_CH_SEND_FAIL, onFail);
    }
  });
});
