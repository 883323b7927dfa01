import { freePort } from '../../src/common/free-port';
import { eventually, getAgent } from './agents-api';
import type { JsonLineAgent } from './python-agent';
import { startTestServer, testDatabaseUri, TestServer } from './test-server';

/** What a check after the restart gets: the server now up, the agent's uid, and where its events after the stop begin. */
export interface AfterRestart {
  server: TestServer;
  uid: string;
  /** Index of the agent's first event after the first server stopped. */
  mark: number;
}

/**
 * An HTTP interop agent across a restart of the server on one port, the way every third-party
 * client is tried: the server starts, `start(url)` starts the agent, its effective config is
 * stored, the server stops, the agent notices (its `noticed` event: a failed poll), and a server
 * starts again on the same port, on the same database (`keepDatabase`) or an empty one. Then
 * `check` looks at what follows; the agent and the server are stopped whatever happens.
 */
export async function acrossServerRestart(opts: {
  /** Names the databases: NAME, and NAME-empty for the one started empty. */
  name: string;
  keepDatabase: boolean;
  noticed: string;
  start: (url: string) => JsonLineAgent;
  check: (agent: JsonLineAgent, after: AfterRestart) => Promise<void>;
}): Promise<void> {
  const port = await freePort();
  const env = { OPAMP_PORT: String(port), OPAMP_HEARTBEAT_INTERVAL_SECONDS: '2' };
  const db = testDatabaseUri(opts.name);
  let server = await startTestServer(env, db);
  const agent = opts.start(`http://127.0.0.1:${port}/v1/opamp`);
  try {
    const uid = await agent.uid();
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && !!r.body.status.effectiveConfig,
    );
    await server.close();
    const mark = agent.events.length;
    await agent.event(opts.noticed, 10_000, mark);
    server = await startTestServer(env, opts.keepDatabase ? db : testDatabaseUri(`${opts.name}-empty`));
    await opts.check(agent, { server, uid, mark });
  } finally {
    await agent.stop();
    await server.close();
  }
}
