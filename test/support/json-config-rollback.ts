import { eventually, getAgent } from './agents-api';
import { AgentEvent, JsonLineAgent } from './python-agent';
import { restClient } from './rest-client';
import { TestServer } from './test-server';

/**
 * The rollback scenario of the interop harnesses that take JSON configs only (Python, Java): revision 1 (JSON)
 * of a group config is applied, revision 2 (YAML, which such a harness cannot apply) is reported FAILED for its
 * own hash, and a rollback to revision 1 is applied and shown APPLIED again. Returns the three config events.
 */
export async function jsonConfigRollback(opts: {
  server: TestServer;
  api: ReturnType<typeof restClient>;
  /** The remote config's and the group's name; the group selects `service.name=<serviceName>`. */
  name: string;
  serviceName: string;
  fileName: string;
  revision1: string;
  revision2Yaml: string;
  /** Starts the agent with this service name and waits until the server knows it; gives its uid. */
  startAgent: (serviceName: string) => Promise<{ agent: JsonLineAgent; uid: string }>;
}): Promise<{ uid: string; first: AgentEvent; failed: AgentEvent; back: AgentEvent; stored: Awaited<ReturnType<typeof getAgent>> }> {
  const { server, api, name } = opts;
  expect((await api('POST', '/remoteconfigs', { metadata: { name }, spec: { contentType: 'application/json', body: opts.revision1 } })).status).toBe(201);
  const group = await api('POST', '/agentgroups', {
    metadata: { name },
    spec: { selector: `service.name=${opts.serviceName}`, configs: [{ fileName: opts.fileName, remoteConfig: name }] },
  });
  expect(group.status).toBe(201);
  const { agent, uid } = await opts.startAgent(opts.serviceName);
  const first = await agent.event('config_applied', 10_000);

  const cur = (await api('GET', `/remoteconfigs/${name}`)).body;
  expect((await api('PUT', `/remoteconfigs/${name}`, { ...cur, spec: { contentType: 'application/yaml', body: opts.revision2Yaml } })).status).toBe(200);
  const failed = await agent.event('config_failed', 10_000);
  expect(failed.hash).not.toBe(first.hash);
  await eventually(
    () => getAgent(server, uid),
    (r) => r.body.status.remoteConfigStatus?.status === 'FAILED' && r.body.status.remoteConfigStatus.lastRemoteConfigHash === failed.hash,
  );

  const mark = agent.events.length;
  expect((await api('POST', `/remoteconfigs/${name}/rollback`, { revision: 1 })).status).toBe(200);
  const back = await agent.waitFor((e) => e.event === 'config_applied', 10_000, mark);
  expect(back.hash).not.toBe(failed.hash);
  const stored = await eventually(
    () => getAgent(server, uid),
    (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED' && r.body.status.remoteConfigStatus.lastRemoteConfigHash === back.hash,
  );
  expect(stored.body.status.remoteConfigStatus).toMatchObject({ status: 'APPLIED', lastRemoteConfigHash: back.hash });
  expect((await api('GET', `/agents/${uid}/desired-config`)).body.hash).toBe(back.hash);
  expect(JSON.parse(stored.body.status.effectiveConfig.configMap[opts.fileName].body)).toEqual(JSON.parse(opts.revision1));
  return { uid, first, failed, back, stored };
}
