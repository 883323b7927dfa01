/**
 * Stored agents for the scenarios that need a large fleet in the database without connecting it
 * (api-list, ui): documents shaped exactly as the OpAMP path stores them, written straight into
 * the database in bulk.
 */
import { fromBinary } from '@bufbuild/protobuf';
import mongoose from 'mongoose';
import { configMapToStored, descriptionToStored, healthToStored, remoteConfigStatusToStored } from '../src/agents/agent-report.mapper';
import { agentSelectorTerms } from '../src/common/selectors/selector-terms';
import { AgentToServerSchema } from '../src/gen/opamp/v1/opamp_pb';
import { newUuidV7 } from '../src/protocol/instance-uid';
import { AGENT_CAPABILITIES, buildSharedParts, descriptionField, uuidText } from './fleet-messages';
import type { RunEnv } from './fleet-run';
import { num } from './report';
import { assemble } from './wire';

const TEAMS = ['payments', 'search', 'checkout', 'platform', 'data'];

/**
 * Server-side labels as operators set them: a team (5, ~20 % each) and a rollout ring, `early`
 * for every other agent (~50 %). With the description's attributes (`deployment.environment` is
 * `staging` for ~10 %, `k8s.cluster.name` one of 4, `k8s.namespace.name` one of 50) selectors of
 * very different selectivity exist.
 */
export function labelsOf(index: number): Record<string, string> {
  return { team: TEAMS[index % TEAMS.length], ring: index % 2 === 0 ? 'early' : 'late' };
}

/** Documents shaped exactly as the OpAMP path stores them (same mapper functions, same selector terms). */
export function documentFactory(configBytes: number) {
  const shared = buildSharedParts(configBytes);
  const template = fromBinary(AgentToServerSchema, assemble(false, [shared.healthy, shared.effectiveConfig, shared.unsetRemoteConfigStatus], 0));
  const health = healthToStored(template.health!);
  const effectiveConfig = { configMap: configMapToStored(template.effectiveConfig!.configMap) };
  const remoteConfigStatus = remoteConfigStatusToStored(template.remoteConfigStatus!);
  return (index: number, runId: string) => {
    const uid = newUuidV7();
    const desc = fromBinary(AgentToServerSchema, descriptionField(index, uid, runId)).agentDescription!;
    const now = new Date();
    const description = descriptionToStored(desc);
    const labels = labelsOf(index);
    return {
      _id: uuidText(uid),
      description,
      capabilities: AGENT_CAPABILITIES,
      health,
      effectiveConfig,
      remoteConfigStatus,
      labels,
      selectorTerms: agentSelectorTerms({ labels, description }),
      connection: {
        connected: false,
        transport: 'websocket',
        remoteAddress: '127.0.0.1',
        connectedAt: now,
        disconnectedAt: now,
        lastSeenAt: now,
        sequenceNum: 3,
        replicaId: 'bench',
        connectionId: `bench-${index}`,
      },
      firstSeenAt: now,
      updatedAt: now,
    };
  };
}

export async function insertViaMongo(env: RunEnv, uri: string, total: number): Promise<{ inserted: number; seconds: number; stoppedEarly: boolean }> {
  const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  const agents = conn.collection('agents');
  const make = documentFactory(env.args.configBytes);
  // Bulk inserts of this many documents (~10 KB each), unordered; the next batch is built while
  // the previous one is written (two in flight).
  const batch = 1000;
  const t0 = Date.now();
  let inserted = 0;
  let made = 0;
  let lastLog = t0;
  const inFlight: Promise<void>[] = [];
  try {
    while (made < total) {
      if (Date.now() - t0 > env.args.insertTimeout * 1000) break;
      const docs = [];
      for (let i = 0; i < Math.min(batch, total - made); i++) docs.push(make(made + i, env.runId));
      made += docs.length;
      inFlight.push(agents.insertMany(docs as never[], { ordered: false }).then(() => void (inserted += docs.length)));
      if (inFlight.length >= 2) await inFlight.shift();
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        const el = (Date.now() - t0) / 1000;
        env.log(`[insert ${el.toFixed(0)}s] ${num(inserted)} / ${num(total)} agents (${num(inserted / el)}/s)`);
      }
    }
    await Promise.all(inFlight);
  } finally {
    await conn.close();
  }
  return { inserted, seconds: (Date.now() - t0) / 1000, stoppedEarly: inserted < total };
}

/** Stores `n` disconnected agents shaped exactly as a document the server wrote, numbered from `first`. */
export async function storeCopiesOfConnected(env: RunEnv, uri: string, n: number, first: number): Promise<void> {
  const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    const agents = conn.collection('agents');
    const model = await agents.findOne({ 'connection.connected': true });
    if (!model) throw new Error('no stored agent to copy');
    const t0 = Date.now();
    const docs = [];
    for (let i = 0; i < n; i++) {
      const index = first + i;
      const uid = uuidText(newUuidV7());
      const attr = (kvs: { key: string; value: unknown }[]) =>
        kvs.map((kv) =>
          kv.key === 'service.instance.id'
            ? { ...kv, value: uid }
            : kv.key === 'host.name'
              ? { ...kv, value: `bench-node-${index}` }
              : kv.key === 'k8s.namespace.name'
                ? { ...kv, value: `ns-${index % 50}` }
                : kv,
        );
      const description = { identifying: attr(model.description.identifying), nonIdentifying: attr(model.description.nonIdentifying) };
      const now = new Date();
      docs.push({
        ...model,
        _id: uid,
        description,
        selectorTerms: agentSelectorTerms({ labels: model.labels, description }),
        connection: { ...model.connection, connected: false, connectionId: `gone-${index}`, disconnectedAt: now, lastSeenAt: now },
        firstSeenAt: now,
        updatedAt: now,
      });
    }
    for (let i = 0; i < docs.length; i += 500) await agents.insertMany(docs.slice(i, i + 500) as never[], { ordered: false });
    env.log(`stored ${num(n)} disconnected agents (copies of a stored one) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await conn.close();
  }
}
