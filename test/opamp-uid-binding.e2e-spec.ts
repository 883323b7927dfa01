import { ServerErrorResponseType } from '../src/gen/opamp/v1/opamp_pb';
import { ConnectionRegistry } from '../src/opamp-gateway/connection-registry';
import { SessionStore } from '../src/opamp-gateway/session-store';
import { uidToText } from '../src/protocol/instance-uid';
import { eventually, getAgent } from './support/agents-api';
import { attributes, GrpcTestAgent, Msg, newAgentUid } from './support/grpc-test-client';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Issue 14, defect 1: a connection speaks for one agent. It may move only to a uid the server
 * assigned it (RequestInstanceUid), which releases the old one at once; any other change of uid
 * is refused and the connection closed; its close releases every uid it held; at most 4 uids
 * per connection. One socket must never hold the places of many agents.
 */
const ReportsStatus = 0x1n;
const RequestInstanceUid = 0x1n;
const MAX_CONNECTIONS = 3;

const hello = (uid: Uint8Array, seq = 0, flags = 0n) =>
  agentMessage({
    instanceUid: uid,
    sequenceNum: BigInt(seq),
    capabilities: ReportsStatus,
    flags,
    agentDescription: description({ 'service.name': 'uid-test' }),
  });

describe('instance uids bound to a connection', () => {
  let server: TestServer;
  let registry: ConnectionRegistry;
  let sessions: SessionStore;
  const open: RawWsAgent[] = [];
  const ws = async () => {
    const a = await RawWsAgent.connect(server.opampPort);
    open.push(a);
    return a;
  };
  const connected = async (uid: string) => (await getAgent(server, uid)).body.status?.connected as boolean | undefined;

  beforeAll(async () => {
    server = await startTestServer({ OPAMP_MAX_CONNECTIONS: String(MAX_CONNECTIONS), OPAMP_MAX_NEW_CONNECTIONS_PER_SECOND: '1000' });
    registry = server.app.get(ConnectionRegistry);
    sessions = server.app.get(SessionStore);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((a) => (a.closeCode === undefined ? a.close() : undefined)));
    await eventually(
      async () => registry.size + sessions.activeAgents,
      (n) => n === 0,
    );
  });
  afterAll(() => server?.close());

  it('WebSocket: a message under another uid gets BAD_REQUEST naming the rule, then close 1008; nothing is stored under it', async () => {
    const a = newUid();
    const b = newUid();
    const agent = await ws();
    expect((await agent.exchange(hello(a.bytes))).errorResponse).toBeUndefined();
    const refused = await agent.exchange(hello(b.bytes, 1));
    expect(refused.errorResponse?.type).toBe(ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(refused.errorResponse?.errorMessage).toMatch(/instance_uid changed .* may only move to the new_instance_uid the server assigned/);
    expect(await agent.closed()).toBe(1008);
    expect((await getAgent(server, b.text)).status).toBe(404);
    expect(
      await eventually(
        () => connected(a.text),
        (c) => c === false,
      ),
    ).toBe(false);
  });

  it('WebSocket: one socket hopping over many uids does not lock new agents out (OPAMP_MAX_CONNECTIONS)', async () => {
    for (let round = 0; round < 3; round++) {
      const hopper = await ws();
      for (let i = 0; i < 20; i++) hopper.send(hello(newUid().bytes, i));
      expect(await hopper.closed()).toBe(1008);
    }
    await eventually(
      async () => registry.size + sessions.activeAgents,
      (n) => n === 0,
    );
    // The limit is free for as many real agents as it allows.
    const uids = Array.from({ length: MAX_CONNECTIONS }, () => newUid());
    for (const u of uids) {
      const agent = await ws();
      expect((await agent.exchange(hello(u.bytes))).errorResponse).toBeUndefined();
    }
    for (const u of uids) expect(await connected(u.text)).toBe(true);
  });

  it('WebSocket: RequestInstanceUid moves the connection to the new uid and releases the old one at once; the close releases the new one', async () => {
    const old = newUid();
    const agent = await ws();
    await agent.exchange(hello(old.bytes));
    expect(await connected(old.text)).toBe(true);
    const answer = await agent.exchange(hello(old.bytes, 1, RequestInstanceUid));
    const assigned = answer.agentIdentification!.newInstanceUid;
    expect(assigned).toHaveLength(16);
    const fresh = uidToText(assigned);
    // The old uid is released before the connection closes.
    expect(
      await eventually(
        () => connected(old.text),
        (c) => c === false,
      ),
    ).toBe(false);
    expect(registry.get(old.text)).toBeUndefined();
    expect((await agent.exchange(hello(assigned, 2))).errorResponse).toBeUndefined();
    expect(await connected(fresh)).toBe(true);
    expect(registry.size).toBe(1);
    await agent.close();
    expect(
      await eventually(
        () => connected(fresh),
        (c) => c === false,
      ),
    ).toBe(false);
    expect(await connected(old.text)).toBe(false);
  });

  it('WebSocket: a second connection for a held uid that sends no description is asked its full state first; a clone then gets a uid of its own, the same agent takes over', async () => {
    const FULL_STATE = 1n;
    const a = newUid();
    const original = await ws();
    expect((await original.exchange(hello(a.bytes))).errorResponse).toBeUndefined();
    const bare = (seq: number) => agentMessage({ instanceUid: a.bytes, sequenceNum: BigInt(seq), capabilities: ReportsStatus });

    // A clone that leaves its description out of its first message: asked, nothing taken over or stored.
    const clone = await ws();
    const asked = await clone.exchange(bare(0));
    expect(asked.flags & FULL_STATE).toBe(FULL_STATE);
    expect(asked.agentIdentification).toBeUndefined();
    const full = agentMessage({
      instanceUid: a.bytes,
      sequenceNum: 1n,
      capabilities: ReportsStatus,
      agentDescription: description({ 'service.name': 'a-clone' }),
    });
    const assigned = (await clone.exchange(full)).agentIdentification?.newInstanceUid;
    expect(assigned).toBeDefined();
    expect(uidToText(assigned!)).not.toBe(a.text);
    expect((await getAgent(server, a.text)).body.status.description.identifyingAttributes['service.name']).toBe('uid-test');
    expect(await connected(a.text)).toBe(true);

    // The same agent on a new connection (the old one half-open): asked once, then it takes the uid over.
    const again = await ws();
    expect((await again.exchange(bare(1))).flags & FULL_STATE).toBe(FULL_STATE);
    expect((await again.exchange(hello(a.bytes, 2))).agentIdentification).toBeUndefined();
    // The old connection's close no longer speaks for the uid: the agent stays online on the new one.
    await original.close();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await connected(a.text)).toBe(true);
    await again.close();
    expect(
      await eventually(
        () => connected(a.text),
        (c) => c === false,
      ),
    ).toBe(false);
  });

  it('WebSocket: at most 4 uids per connection; the fifth is refused and the socket closed', async () => {
    const agent = await ws();
    let uid = newUid().bytes;
    await agent.exchange(hello(uid));
    const seen = [uidToText(uid)];
    for (let i = 1; i <= 3; i++) {
      const answer = await agent.exchange(hello(uid, i, RequestInstanceUid));
      expect(answer.errorResponse).toBeUndefined();
      uid = answer.agentIdentification!.newInstanceUid;
      seen.push(uidToText(uid));
      await agent.exchange(hello(uid, i));
    }
    const refused = await agent.exchange(hello(uid, 9, RequestInstanceUid));
    expect(refused.errorResponse?.type).toBe(ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(refused.errorResponse?.errorMessage).toMatch(/already spoken for 4 instance uids/);
    expect(await agent.closed()).toBe(1008);
    for (const u of seen)
      expect(
        await eventually(
          () => connected(u),
          (c) => c === false,
        ),
      ).toBe(false);
  });

  describe('over gRPC', () => {
    const streams: GrpcTestAgent[] = [];
    const grpcHello = (uid: Buffer, seq = 0, flags = 0): Msg => ({
      instanceUid: uid,
      sequenceNum: seq,
      capabilities: 1,
      flags,
      agentDescription: { identifyingAttributes: attributes({ 'service.name': 'uid-test-grpc' }) },
    });
    const stream = () => {
      const s = GrpcTestAgent.open(server.grpcPort);
      streams.push(s);
      return s;
    };
    afterEach(() =>
      streams.splice(0).forEach((s) => {
        s.cancel();
        s.close();
      }),
    );

    it('an unsolicited uid change ends the stream with INVALID_ARGUMENT after the BAD_REQUEST answer; hopping locks nobody out', async () => {
      for (let round = 0; round < 3; round++) {
        const a = newAgentUid();
        const s = stream();
        expect((await s.exchange(grpcHello(a.bytes))).errorResponse).toBeUndefined();
        const refused = await s.exchange(grpcHello(newAgentUid().bytes, 1));
        expect(refused.errorResponse?.type).toBe('ServerErrorResponseType_BadRequest');
        const status = await s.ended();
        expect(status.code).toBe(3); // INVALID_ARGUMENT
        expect(status.details).toMatch(/instance_uid changed/);
        expect(
          await eventually(
            () => connected(a.text),
            (c) => c === false,
          ),
        ).toBe(false);
      }
      await eventually(
        async () => registry.size + sessions.activeAgents,
        (n) => n === 0,
      );
      const uids = Array.from({ length: MAX_CONNECTIONS }, () => newAgentUid());
      for (const u of uids) expect((await stream().exchange(grpcHello(u.bytes))).errorResponse).toBeUndefined();
    });

    it('RequestInstanceUid releases the old uid at once and the end of the stream releases the new one', async () => {
      const old = newAgentUid();
      const s = stream();
      await s.exchange(grpcHello(old.bytes));
      const answer = await s.exchange(grpcHello(old.bytes, 1, 1));
      const assigned = answer.agentIdentification.newInstanceUid as Buffer;
      const fresh = uidToText(assigned);
      expect(
        await eventually(
          () => connected(old.text),
          (c) => c === false,
        ),
      ).toBe(false);
      expect((await s.exchange(grpcHello(assigned, 2))).errorResponse).toBeUndefined();
      expect(await connected(fresh)).toBe(true);
      s.cancel();
      expect(
        await eventually(
          () => connected(fresh),
          (c) => c === false,
        ),
      ).toBe(false);
      expect(registry.size).toBe(0);
    });
  });
});
