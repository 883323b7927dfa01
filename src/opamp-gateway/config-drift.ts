import { parse } from 'yaml';

/**
 * ConfigDrift (issue 20): an agent that says it runs its config while what it really runs is not
 * that config — the commonest silent failure of Collector fleets (a fallback or empty pipeline, a
 * pipeline dropped when the supervisor merged configs, APPLIED for another hash). Judged from
 * what the session knows, with no I/O: the desired config map, the shape of the effective config
 * the agent last reported, and its remote config status.
 *
 * The effective config of a Collector under its supervisor is never byte-equal to what was sent
 * (the supervisor adds its own extension and telemetry settings), so content is compared by
 * shape: every pipeline of the desired config, with its receivers and exporters, must be in the
 * effective one. Configs that are not Collector YAML (no `service.pipelines`) are judged by hash only.
 */

/** Pipelines by name (`traces`, `metrics/backend`), each with its receivers and exporters. */
export type ConfigShape = Map<string, { receivers: Set<string>; exporters: Set<string> }>;

export interface ConfigFile {
  contentType: string;
  body: Uint8Array;
}

const isYamlOrJson = (contentType: string) => contentType === '' || /yaml|json|text\/plain/i.test(contentType);

/** The pipelines of a config map (files merged as the Collector merges them); undefined when no file can be read. */
export function configShape(files: Iterable<ConfigFile>): ConfigShape | undefined {
  const shape: ConfigShape = new Map();
  let read = false;
  for (const f of files) {
    if (!isYamlOrJson(f.contentType) || f.body.length > 4 * 1024 * 1024) continue;
    let doc: unknown;
    try {
      doc = parse(Buffer.from(f.body).toString('utf8'), { maxAliasCount: 100 });
    } catch {
      continue;
    }
    read = true;
    const pipelines = (doc as { service?: { pipelines?: unknown } } | null)?.service?.pipelines;
    if (!pipelines || typeof pipelines !== 'object') continue;
    for (const [name, p] of Object.entries(pipelines as Record<string, unknown>)) {
      const entry = shape.get(name) ?? { receivers: new Set<string>(), exporters: new Set<string>() };
      const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
      for (const r of list((p as { receivers?: unknown } | null)?.receivers)) entry.receivers.add(r);
      for (const e of list((p as { exporters?: unknown } | null)?.exporters)) entry.exporters.add(e);
      shape.set(name, entry);
    }
  }
  return read ? shape : undefined;
}

export interface DriftCondition {
  type: 'ConfigDrift';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface DriftFacts {
  /** Hash (hex) of the config map the agent should run; undefined when none is assigned. */
  desiredHash?: string;
  desiredShape?: ConfigShape;
  /** Shape of the effective config it last reported this session; undefined when none is known. */
  effectiveShape?: ConfigShape;
  /** What it reports of its remote config. */
  reported?: { lastRemoteConfigHash: string; status: string };
  /** What was sent, and when. */
  sent?: { hash?: string; at?: Date };
  now: Date;
}

/** How long an agent may take to report on a config sent to it before APPLIED for another hash is drift. */
export const DRIFT_GRACE_MS = 60_000;

export function configDrift(f: DriftFacts): DriftCondition | undefined {
  if (!f.desiredHash) return undefined;
  const cond = (status: DriftCondition['status'], reason: string, message: string): DriftCondition => ({ type: 'ConfigDrift', status, reason, message });
  const r = f.reported;
  const sentLongAgo = f.sent?.hash === f.desiredHash && f.sent.at !== undefined && f.now.getTime() - f.sent.at.getTime() >= DRIFT_GRACE_MS;
  if (r?.status === 'APPLIED' && r.lastRemoteConfigHash !== f.desiredHash && sentLongAgo) {
    return cond(
      'True',
      'AppliedOtherConfig',
      `reports APPLIED for ${r.lastRemoteConfigHash.slice(0, 12)}, not for the config it was sent (${f.desiredHash.slice(0, 12)})`,
    );
  }
  const want = f.desiredShape;
  if (want && want.size > 0 && r?.status === 'APPLIED' && r.lastRemoteConfigHash === f.desiredHash) {
    const have = f.effectiveShape;
    if (!have) return cond('Unknown', 'NoEffectiveConfig', 'the agent has not reported its effective config');
    if (have.size === 0)
      return cond('True', 'EmptyPipelines', `its effective config runs no pipeline; the config it was sent has ${[...want.keys()].join(', ')}`);
    for (const [name, p] of want) {
      const got = have.get(name);
      if (!got) return cond('True', 'PipelineMissing', `pipeline ${name} of the config it was sent is not in its effective config`);
      for (const x of p.receivers)
        if (!got.receivers.has(x)) return cond('True', 'ComponentMissing', `receiver ${x} of pipeline ${name} is not in its effective config`);
      for (const x of p.exporters)
        if (!got.exporters.has(x)) return cond('True', 'ComponentMissing', `exporter ${x} of pipeline ${name} is not in its effective config`);
    }
    return cond('False', 'RunsDesiredConfig', 'its effective config has every pipeline, receiver and exporter of the config it was sent');
  }
  if (r?.status === 'APPLIED' && r.lastRemoteConfigHash === f.desiredHash)
    return cond('False', 'AppliedDesiredConfig', 'reports APPLIED for the config it was sent');
  return cond('Unknown', 'NotApplied', 'the agent has not applied the config it was sent yet');
}

/** True when two conditions say the same (a new `since` only when one changes). */
export const sameDrift = (a: DriftCondition | undefined, b: DriftCondition | undefined) =>
  a?.status === b?.status && a?.reason === b?.reason && a?.message === b?.message;
