import { create } from '@bufbuild/protobuf';
import { AgentCapabilities as Cap, ComponentHealthSchema, ServerErrorResponseType, ServerToAgentFlags } from '../src/gen/opamp/v1/opamp_pb';
import { eventually, getAgent } from './support/agents-api';
import { CuttableLink } from './support/cuttable-link';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { startTestServer, testDatabaseUri, TestServer } from './support/test-server';

const CAPS = [Cap.AgentCapabilities_ReportsStatus, Cap.AgentCapabilities_ReportsHealth].reduce((a, c) => a | BigInt(c), 0n);

/**
 * A database outage while an agent is connected over WebSocket: the message the server could not
 * store is answered with error_response UNAVAILABLE and a retry hint (not a close 1011 that
 * makes every agent reconnect at once), the socket stays open, and once the database is back the
 * agent is asked for its full state, so the report lost to the outage is sent again and stored.
 */
describe('OpAMP over WebSocket while the database is unreachable', () => {
  let link: CuttableLink;
  let server: TestServer;

  beforeAll(async () => {
    const direct = new URL(testDatabaseUri());
    link = new CuttableLink({ host: direct.hostname, port: Number(direct.port) });
    await link.up();
    direct.host = `127.0.0.1:${link.port}`;
    server = await startTestServer({ DATABASE_TIMEOUT_MS: '1000', DATABASE_OPERATION_TIMEOUT_MS: '2000' }, direct.toString());
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await link?.down().catch(() => undefined);
  });

  it('answers UNAVAILABLE with a retry hint, keeps the socket, and asks for full state once the database is back', async () => {
    const uid = newUid();
    const ws = await RawWsAgent.connect(server.opampPort);
    let seq = 0n;
    const first = await ws.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: seq,
        capabilities: CAPS,
        agentDescription: description({ 'service.name': 'outage' }),
        health: create(ComponentHealthSchema, { healthy: true }),
      }),
    );
    expect(first.errorResponse).toBeUndefined();

    await link.down();
    const during = await ws.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: ++seq,
        capabilities: CAPS,
        health: create(ComponentHealthSchema, { healthy: false, lastError: 'lost in the outage' }),
      }),
    );
    expect(during.errorResponse?.type).toBe(ServerErrorResponseType.ServerErrorResponseType_Unavailable);
    expect(during.errorResponse?.Details.case).toBe('retryInfo');
    expect(ws.closeCode).toBeUndefined();

    await link.up();
    await eventually(
      () => fetch(`${server.baseUrl}/readyz`).then((r) => r.status),
      (s) => s === 200,
      30_000,
    );
    const after = await ws.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: ++seq, capabilities: CAPS }));
    expect(after.errorResponse).toBeUndefined();
    expect(after.flags & BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState)).not.toBe(0n);
    // The agent answers with its whole state: the health the outage lost is stored now.
    await ws.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: ++seq,
        capabilities: CAPS,
        agentDescription: description({ 'service.name': 'outage' }),
        health: create(ComponentHealthSchema, { healthy: false, lastError: 'lost in the outage' }),
      }),
    );
    const shown = await getAgent(server, uid.text);
    expect(shown.body.status.health).toMatchObject({ healthy: false, lastError: 'lost in the outage' });
    await ws.close();
  }, 120_000);
});
