import { create, toBinary } from '@bufbuild/protobuf';
import { AnyValueSchema, KeyValue, KeyValueSchema } from '../src/gen/opamp/v1/anyvalue_pb';
import {
  AgentCapabilities as Cap,
  AgentConfigFileSchema,
  AgentConfigMap,
  AgentConfigMapSchema,
  AgentDescriptionSchema,
  ComponentHealth,
  ComponentHealthSchema,
  EffectiveConfigSchema,
  RemoteConfigStatusSchema,
  RemoteConfigStatuses,
} from '../src/gen/opamp/v1/opamp_pb';
import { lenField, varintField } from './wire';

/**
 * What a simulated agent reports, as pre-encoded AgentToServer fields. The agent looks like an
 * OpenTelemetry Collector run by the OpAMP supervisor: full description, a component health
 * tree per pipeline, an ~8 KB YAML effective config, and remote config support.
 */
export const AGENT_CAPABILITIES =
  Cap.AgentCapabilities_ReportsStatus |
  Cap.AgentCapabilities_AcceptsRemoteConfig |
  Cap.AgentCapabilities_ReportsEffectiveConfig |
  Cap.AgentCapabilities_ReportsOwnMetrics |
  Cap.AgentCapabilities_ReportsHealth |
  Cap.AgentCapabilities_ReportsRemoteConfig |
  Cap.AgentCapabilities_ReportsHeartbeat;

/** ServerToAgentFlags and ServerCapabilities bits the generator reacts to. */
export const FLAG_REPORT_FULL_STATE = 0x1;
export const SERVER_OFFERS_REMOTE_CONFIG = 0x2;

/** Fields shared by every agent of a run (identical bytes, built once per worker). */
export interface SharedParts {
  /** Field 4: capabilities. */
  capabilities: Buffer;
  /** Field 5: the health tree, all components healthy. */
  healthy: Buffer;
  /** Field 5: the same tree with the exporter failing (a status change). */
  degraded: Buffer;
  /** Field 6: the effective config. */
  effectiveConfig: Buffer;
  /** Field 7: remote config status UNSET (no config received yet). */
  unsetRemoteConfigStatus: Buffer;
  /** Field 9: agent_disconnect. */
  disconnect: Buffer;
  effectiveConfigBytes: number;
}

function kv(key: string, value: string | bigint | boolean): KeyValue {
  const v =
    typeof value === 'string'
      ? { case: 'stringValue' as const, value }
      : typeof value === 'bigint'
        ? { case: 'intValue' as const, value }
        : { case: 'boolValue' as const, value };
  return create(KeyValueSchema, { key, value: create(AnyValueSchema, { value: v }) });
}

/** A plausible Collector configuration of at least `targetBytes` bytes (more scrape jobs until it is). */
export function collectorYaml(targetBytes: number): string {
  const head = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
        max_recv_msg_size_mib: 16
      http:
        endpoint: 0.0.0.0:4318
        cors:
          allowed_origins: ["https://*.example.internal"]
  hostmetrics:
    collection_interval: 30s
    scrapers:
      cpu: {}
      disk: {}
      filesystem:
        exclude_mount_points:
          mount_points: [/dev/*, /proc/*, /sys/*, /run/k3s/containerd/*, /var/lib/docker/*]
          match_type: regexp
      load: {}
      memory: {}
      network: {}
      paging: {}
      processes: {}
  filelog:
    include: [/var/log/pods/*/*/*.log]
    exclude: [/var/log/pods/*/otel-collector/*.log]
    start_at: end
    include_file_path: true
    operators:
      - type: container
        id: container-parser
      - type: move
        from: attributes["log.iostream"]
        to: attributes["stream"]
  prometheus:
    config:
      scrape_configs:
`;
  const tail = `processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 25
  batch:
    send_batch_size: 8192
    send_batch_max_size: 10000
    timeout: 5s
  resourcedetection:
    detectors: [env, system, k8snode]
    timeout: 2s
    override: false
  k8sattributes:
    auth_type: serviceAccount
    extract:
      metadata: [k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.deployment.name, k8s.node.name]
      labels:
        - tag_name: app.label.component
          key: app.kubernetes.io/component
          from: pod
  attributes/scrub:
    actions:
      - key: http.request.header.authorization
        action: delete
      - key: db.statement
        action: hash
      - key: environment
        value: production
        action: upsert
exporters:
  otlphttp:
    endpoint: https://otlp.observability.example.internal:4318
    compression: gzip
    retry_on_failure:
      enabled: true
      initial_interval: 5s
      max_interval: 30s
      max_elapsed_time: 300s
    sending_queue:
      enabled: true
      num_consumers: 10
      queue_size: 5000
  debug:
    verbosity: basic
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
  pprof:
    endpoint: localhost:1777
service:
  extensions: [health_check, pprof]
  telemetry:
    metrics:
      level: detailed
    logs:
      level: info
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, k8sattributes, resourcedetection, attributes/scrub, batch]
      exporters: [otlphttp]
    metrics:
      receivers: [otlp, hostmetrics, prometheus]
      processors: [memory_limiter, k8sattributes, resourcedetection, batch]
      exporters: [otlphttp]
    logs:
      receivers: [otlp, filelog]
      processors: [memory_limiter, k8sattributes, resourcedetection, attributes/scrub, batch]
      exporters: [otlphttp, debug]
`;
  const jobs: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0; size < targetBytes; i++) {
    const job = `        - job_name: service-${String(i).padStart(3, '0')}
          scrape_interval: 30s
          metrics_path: /metrics
          static_configs:
            - targets: [service-${i}.apps.svc.cluster.local:9090]
              labels: {team: team-${i % 7}, tier: backend}
`;
    jobs.push(job);
    size += job.length;
  }
  return head + jobs.join('') + tail;
}

export function configMap(files: Record<string, { body: Uint8Array; contentType: string }>): AgentConfigMap {
  const map = create(AgentConfigMapSchema);
  for (const [name, f] of Object.entries(files)) map.configMap[name] = create(AgentConfigFileSchema, f);
  return map;
}

function healthTree(startNanos: bigint, degraded: boolean): ComponentHealth {
  const node = (healthy: boolean, status: string, children: Record<string, ComponentHealth> = {}, lastError = ''): ComponentHealth =>
    create(ComponentHealthSchema, {
      healthy,
      startTimeUnixNano: startNanos,
      statusTimeUnixNano: startNanos + 1_000_000_000n,
      status,
      lastError,
      componentHealthMap: children,
    });
  const pipeline = (receivers: string[], processors: string[], exporters: string[]) => {
    const children: Record<string, ComponentHealth> = {};
    for (const r of receivers) children[`receiver:${r}`] = node(true, 'StatusOK');
    for (const p of processors) children[`processor:${p}`] = node(true, 'StatusOK');
    for (const e of exporters) {
      const failing = degraded && e === 'otlphttp';
      children[`exporter:${e}`] = failing
        ? node(false, 'StatusRecoverableError', {}, 'Post "https://otlp.observability.example.internal:4318/v1/traces": dial tcp: connection refused')
        : node(true, 'StatusOK');
    }
    const ok = !(degraded && exporters.includes('otlphttp'));
    return node(ok, ok ? 'StatusOK' : 'StatusRecoverableError', children);
  };
  const procs = ['memory_limiter', 'k8sattributes', 'resourcedetection', 'batch'];
  return node(!degraded, degraded ? 'StatusRecoverableError' : 'StatusOK', {
    'pipeline:traces': pipeline(['otlp'], procs, ['otlphttp']),
    'pipeline:metrics': pipeline(['otlp', 'hostmetrics', 'prometheus'], procs, ['otlphttp']),
    'pipeline:logs': pipeline(['otlp', 'filelog'], procs, ['otlphttp', 'debug']),
    extensions: node(true, 'StatusOK', { 'extension:health_check': node(true, 'StatusOK'), 'extension:pprof': node(true, 'StatusOK') }),
  });
}

export function buildSharedParts(configBytes: number): SharedParts {
  const startNanos = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const yaml = Buffer.from(collectorYaml(configBytes));
  const effective = create(EffectiveConfigSchema, { configMap: configMap({ '': { body: yaml, contentType: 'application/yaml' } }) });
  return {
    capabilities: varintField(4, AGENT_CAPABILITIES),
    healthy: lenField(5, toBinary(ComponentHealthSchema, healthTree(startNanos, false))),
    degraded: lenField(5, toBinary(ComponentHealthSchema, healthTree(startNanos, true))),
    effectiveConfig: lenField(6, toBinary(EffectiveConfigSchema, effective)),
    unsetRemoteConfigStatus: lenField(7, toBinary(RemoteConfigStatusSchema, create(RemoteConfigStatusSchema, {}))),
    disconnect: lenField(9, new Uint8Array(0)),
    effectiveConfigBytes: yaml.length,
  };
}

export function uidField(uid: Uint8Array): Buffer {
  return lenField(1, uid);
}

export function uuidText(uid: Uint8Array): string {
  const h = Buffer.from(uid).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Field 3: the description of agent number `index` of run `runId`. */
export function descriptionField(index: number, uid: Uint8Array, runId: string): Buffer {
  const d = create(AgentDescriptionSchema, {
    identifyingAttributes: [
      kv('service.name', 'otelcol-contrib'),
      kv('service.namespace', 'observability'),
      kv('service.instance.id', uuidText(uid)),
      kv('service.version', '0.119.0'),
    ],
    nonIdentifyingAttributes: [
      kv('host.name', `bench-node-${index}`),
      kv('host.arch', 'amd64'),
      kv('os.type', 'linux'),
      kv('os.description', 'Ubuntu 24.04.1 LTS'),
      kv('k8s.cluster.name', `cluster-${index % 4}`),
      kv('k8s.namespace.name', `ns-${index % 50}`),
      kv('k8s.pod.name', `otel-agent-${index.toString(36)}`),
      kv('deployment.environment', index % 10 === 0 ? 'staging' : 'production'),
      kv('bench.run', runId),
      kv('bench.index', BigInt(index)),
    ],
  });
  return lenField(3, toBinary(AgentDescriptionSchema, d));
}

/** Field 7: a remote config status report. */
export function remoteConfigStatusField(hash: Uint8Array, status: RemoteConfigStatuses, errorMessage = ''): Buffer {
  return lenField(7, toBinary(RemoteConfigStatusSchema, create(RemoteConfigStatusSchema, { lastRemoteConfigHash: hash, status, errorMessage })));
}

/** Field 6 from a received config map (what the agent runs after applying it). */
export function effectiveConfigField(map: AgentConfigMap | undefined): Buffer {
  return lenField(6, toBinary(EffectiveConfigSchema, create(EffectiveConfigSchema, { configMap: map })));
}
