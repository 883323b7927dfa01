import { create } from '@bufbuild/protobuf';
import mongoose, { Connection, Model } from 'mongoose';
import { testDatabaseUri } from '../../test/support/test-server';
import { ContentBody, ContentBodySchema } from '../database/content-store/content-body.schema';
import { MongooseContentBodiesRepository } from '../database/content-store/content-bodies.repository';
import { ContentStore } from '../database/content-store/content-store';
import { AgentConfigFileSchema, AgentConfigMapSchema, ComponentHealthSchema } from '../gen/opamp/v1/opamp_pb';
import { configMapHash } from '../protocol/config-hash';
import { AgentBodies, effectiveConfigHashHex } from './agent-bodies';
import { configMapToStored, healthToStored } from './agent-report.mapper';

/**
 * What an agent document keeps of its large parts (refs, names, sizes, the health summary) and
 * how reads get them back, on the real test database: joined, a document is what it was with
 * the bodies inline, and the effective config's hash is read from its ref.
 */
describe('AgentBodies (agent parts stored by content)', () => {
  let conn: Connection;
  let bodies: Model<ContentBody>;
  let agentBodies: AgentBodies;

  beforeAll(async () => {
    conn = await mongoose.createConnection(testDatabaseUri('agent-bodies')).asPromise();
    bodies = conn.model<ContentBody>(ContentBody.name, ContentBodySchema);
    await bodies.init();
    agentBodies = new AgentBodies(new ContentStore(new MongooseContentBodiesRepository(bodies), { maxBatch: 90, graceMs: 3_600_000 }));
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
  });

  const configMap = create(AgentConfigMapSchema, {
    configMap: {
      'b.yaml': create(AgentConfigFileSchema, { body: Buffer.from('b: 2\n'), contentType: 'text/yaml' }),
      'a.json': create(AgentConfigFileSchema, { body: Buffer.from('{"a":1}'), contentType: 'application/json' }),
    },
  });
  const health = create(ComponentHealthSchema, {
    healthy: false,
    status: 'StatusRecoverableError',
    lastError: 'exporter down',
    componentHealthMap: {
      'pipeline:logs': create(ComponentHealthSchema, {
        healthy: false,
        componentHealthMap: { 'exporter:otlp': create(ComponentHealthSchema, { healthy: false, lastError: 'exporter down' }) },
      }),
    },
  });

  it('keeps refs, file names, sizes and the health summary in the document, and joins back exactly the inline parts', async () => {
    const inline = { effectiveConfig: { configMap: configMapToStored(configMap) }, health: healthToStored(health) };
    const lean = await agentBodies.lean(inline);
    expect(lean.effectiveConfig).toEqual({
      ref: `effective-config:${effectiveConfigHashHex(inline.effectiveConfig)}`,
      configMap: [
        { name: 'a.json', contentType: 'application/json', size: 7 },
        { name: 'b.yaml', contentType: 'text/yaml', size: 5 },
      ],
    });
    expect(lean.health).toMatchObject({ healthy: false, lastError: 'exporter down', componentCount: 2, unhealthyComponentCount: 2, components: [] });
    expect(lean.health?.componentsRef).toMatch(/^health:[0-9a-f]{64}$/);
    expect(AgentBodies.holdsInline(inline)).toBe(true);
    expect(AgentBodies.holdsInline(lean)).toBe(false);

    // Through the database and back, as a read gets it.
    const [joined] = await agentBodies.join([lean]);
    expect(joined.health).toEqual({ ...inline.health, componentsRef: lean.health!.componentsRef });
    expect(joined.effectiveConfig!.configMap.map((f) => [f.name, f.contentType, Buffer.from(f.body!).toString()])).toEqual([
      ['a.json', 'application/json', '{"a":1}'],
      ['b.yaml', 'text/yaml', 'b: 2\n'],
    ]);
  });

  it('takes the effective config hash from the ref, equal to the config map hash of the files', async () => {
    const stored = configMapToStored(configMap);
    const expected = configMapHash(stored.map((f) => ({ fileName: f.name, contentType: f.contentType, body: f.body! }))).toString('hex');
    const lean = await agentBodies.lean({ effectiveConfig: { configMap: stored } });
    expect(effectiveConfigHashHex(lean.effectiveConfig!)).toBe(expected);
    expect(effectiveConfigHashHex({ configMap: stored })).toBe(expected);
  });

  it('stores nothing for an empty config map or a health without components', async () => {
    const before = await bodies.countDocuments({});
    const lean = await agentBodies.lean({
      effectiveConfig: { configMap: [] },
      health: healthToStored(create(ComponentHealthSchema, { healthy: true, status: 'StatusOK' })),
    });
    expect(lean.effectiveConfig).toEqual({ configMap: [] });
    expect(lean.health).not.toHaveProperty('componentsRef');
    expect(await bodies.countDocuments({})).toBe(before);
  });
});
