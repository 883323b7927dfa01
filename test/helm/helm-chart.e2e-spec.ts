import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The Helm chart as a user meets it: `helm lint` passes, `helm template` renders manifests whose
 * ports, probes, Services, secrets and security settings fit together, every optional resource
 * renders when switched on, and values.schema.json rejects bad values before anything is applied.
 * Helm comes from helm/scripts/ensure-helm.sh (built once with Go when none is on PATH); without
 * it the suite fails, it never skips.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const CHART = path.join(ROOT, 'helm', 'opamp-commander');
const ALL_ON = path.join(ROOT, 'helm', 'values-all-on.yaml');
const ENSURE_HELM = path.join(ROOT, 'helm', 'scripts', 'ensure-helm.sh');
const RELEASE = 'cmdr';
const NAMESPACE = 'fleet';
// Pinned so the result does not depend on the Kubernetes version a helm binary was built for.
const KUBE_VERSION = '1.31.0';

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  volumes?: { name: string; emptyDir?: object; secret?: { secretName: string }; configMap?: { name: string } }[];
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  data?: Record<string, string>;
  // Each kind uses its own part of spec; the tests read it through the typed helpers below.
  spec?: Record<string, unknown>;
}
interface ServicePort {
  name: string;
  port: number;
  targetPort: number | string;
  appProtocol?: string;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let helmBin = '';
let helmHome = '';

function run(cmd: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: ROOT,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        // Keep helm's own config/cache/data out of the user's home.
        env: helmHome
          ? { ...process.env, HELM_CONFIG_HOME: path.join(helmHome, 'config'), HELM_CACHE_HOME: path.join(helmHome, 'cache'), HELM_DATA_HOME: path.join(helmHome, 'data') }
          : process.env,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && typeof err.code !== 'number' ? `\n${err.message}` : '') });
      },
    );
  });
}

function helm(...args: string[]): Promise<Run> {
  return run(helmBin, args, 120_000);
}

async function template(...extra: string[]): Promise<Manifest[]> {
  const r = await helm('template', RELEASE, CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...extra);
  if (r.code !== 0) throw new Error(`helm template ${extra.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  const out: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`helm template rendered invalid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS() as Manifest | null;
    if (value) out.push(value);
  }
  return out;
}

function writeValues(name: string, text: string): string {
  const file = path.join(helmHome, name);
  fs.writeFileSync(file, text);
  return file;
}

// ---- typed views of the rendered manifests ----

function all(ms: Manifest[], kind: string): Manifest[] {
  return ms.filter((m) => m.kind === kind);
}
function one(ms: Manifest[], kind: string, name?: string): Manifest {
  const found = all(ms, kind).filter((m) => name === undefined || m.metadata.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}: ${all(ms, kind).map((m) => m.metadata.name).join(', ')}`);
  }
  return found[0];
}
function podTemplate(m: Manifest): { metadata: Meta; spec: PodSpec } {
  return (m.spec as { template: { metadata: Meta; spec: PodSpec } }).template;
}
/** The server's Deployment: the one with a container named server (the embedded NATS is a Deployment too). */
function server(ms: Manifest[]): { deployment: Manifest; pod: { metadata: Meta; spec: PodSpec }; container: Container } {
  const found = all(ms, 'Deployment').filter((d) => podTemplate(d).spec.containers.some((c) => c.name === 'server'));
  if (found.length !== 1) throw new Error(`expected one Deployment with a container named server, found ${found.length}`);
  const deployment = found[0];
  const pod = podTemplate(deployment);
  const container = pod.spec.containers.find((c) => c.name === 'server')!;
  return { deployment, pod, container };
}
function servicePorts(svc: Manifest): ServicePort[] {
  return (svc.spec as { ports: ServicePort[] }).ports;
}
function serviceSelector(svc: Manifest): Record<string, string> {
  return (svc.spec as { selector: Record<string, string> }).selector;
}
function containerPort(c: Container, ref: number | string): number | undefined {
  return typeof ref === 'number' ? ref : c.ports?.find((p) => p.name === ref)?.containerPort;
}
function env(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}
function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
/** The Service whose selector picks the server pods and that forwards `port` to the container. */
function serviceForContainerPort(ms: Manifest[], podLabels: Record<string, string> | undefined, c: Container, port: number): { svc: Manifest; port: ServicePort } | undefined {
  for (const svc of all(ms, 'Service')) {
    if (!selects(serviceSelector(svc), podLabels)) continue;
    const p = servicePorts(svc).find((sp) => containerPort(c, sp.targetPort) === port);
    if (p) return { svc, port: p };
  }
  return undefined;
}
/** Where MONGODB_URI / JWT_SECRET / ADMIN_PASSWORD come from, checked against what is rendered. */
function secretSource(ms: Manifest[], c: Container, name: string): { secret: string; key: string; rendered?: Manifest } {
  const ref = env(c, name)?.valueFrom?.secretKeyRef;
  if (!ref) throw new Error(`${name} is not taken from a Secret`);
  const rendered = all(ms, 'Secret').find((s) => s.metadata.name === ref.name);
  return { secret: ref.name, key: ref.key, rendered };
}
function decoded(secret: Manifest, key: string): string {
  const b64 = secret.data?.[key];
  if (b64 === undefined) throw new Error(`Secret ${secret.metadata.name} has no key ${key}`);
  return Buffer.from(b64, 'base64').toString('utf8');
}

beforeAll(async () => {
  helmHome = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-commander-helm-'));
  const started = Date.now();
  const r = await run('bash', [ENSURE_HELM], 14 * 60_000);
  const last = r.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (r.code !== 0 || !last || !fs.existsSync(last)) {
    throw new Error(
      `Helm 3 is required for the chart tests and could not be had: helm/scripts/ensure-helm.sh exited ${r.code}.\n` +
        'Put a Helm v3 binary on PATH, or install the Go toolchain so the script can build one.\n' +
        `--- stderr ---\n${r.stderr.slice(-4000)}`,
    );
  }
  helmBin = last;
  const took = Math.round((Date.now() - started) / 1000);
  if (took > 5) console.log(`[helm] ${helmBin} ready after ${took} s`);
}, 15 * 60_000);

afterAll(() => {
  if (helmHome) fs.rmSync(helmHome, { recursive: true, force: true });
});

describe('helm chart: lint', () => {
  it('passes `helm lint --strict` with the default values', async () => {
    const r = await helm('lint', CHART, '--strict', '--kube-version', KUBE_VERSION);
    expect(`${r.stdout}${r.stderr}`).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it('passes `helm lint --strict` with every option switched on', async () => {
    const r = await helm('lint', CHART, '--strict', '--kube-version', KUBE_VERSION, '-f', ALL_ON);
    expect(`${r.stdout}${r.stderr}`).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('helm chart: default values', () => {
  let ms: Manifest[];
  beforeAll(async () => {
    ms = await template();
  });

  it('listens on 8080 (API), 4320 (OpAMP) and 4321 (gRPC) and tells the server so', () => {
    const { container } = server(ms);
    const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({ http: 8080, opamp: 4320, grpc: 4321 });
    const cm = one(ms, 'ConfigMap', `${RELEASE}-opamp-commander`);
    expect(container.envFrom?.some((e) => e.configMapRef?.name === cm.metadata.name)).toBe(true);
    expect(cm.data).toMatchObject({ API_PORT: '8080', OPAMP_PORT: '4320', GRPC_PORT: '4321', DATA_DIR: '/data', LOG_FORMAT: 'json' });
    expect(env(container, 'REPLICA_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  it('has a Service for each listener that reaches the pods, gRPC marked appProtocol grpc', () => {
    const { pod, container } = server(ms);
    const api = serviceForContainerPort(ms, pod.metadata.labels, container, 8080);
    const opamp = serviceForContainerPort(ms, pod.metadata.labels, container, 4320);
    const grpc = serviceForContainerPort(ms, pod.metadata.labels, container, 4321);
    expect(api?.svc.metadata.name).toBe(`${RELEASE}-opamp-commander`);
    expect(opamp?.svc.metadata.name).toBe(`${RELEASE}-opamp-commander-opamp`);
    expect(grpc?.svc.metadata.name).toBe(`${RELEASE}-opamp-commander-grpc`);
    expect(api?.port.port).toBe(8080);
    expect(opamp?.port.port).toBe(4320);
    expect(grpc?.port.port).toBe(4321);
    expect(grpc?.port.appProtocol).toBe('grpc');
    for (const svc of all(ms, 'Service')) expect((svc.spec as { type: string }).type).toBe('ClusterIP');
  });

  it('probes /healthz (liveness, startup) and /readyz (readiness) on the API port', () => {
    const { container } = server(ms);
    for (const [probe, pathWanted] of [
      [container.livenessProbe, '/healthz'],
      [container.startupProbe, '/healthz'],
      [container.readinessProbe, '/readyz'],
    ] as const) {
      expect(probe?.httpGet?.path).toBe(pathWanted);
      expect(containerPort(container, probe?.httpGet?.port ?? -1)).toBe(8080);
      expect(probe?.httpGet?.scheme).toBe('HTTP');
    }
  });

  it('runs as non-root on a read-only root filesystem without privileges', () => {
    const { pod, container } = server(ms);
    expect(pod.spec.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.spec.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    const sc = container.securityContext ?? {};
    expect(sc.runAsNonRoot).toBe(true);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.privileged).not.toBe(true);
    expect(sc.capabilities?.drop).toContain('ALL');
    // The only writable places are volumes: DATA_DIR and /tmp.
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    const emptyDirs = (pod.spec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name);
    expect(emptyDirs).toEqual(expect.arrayContaining([mounts['/data'], mounts['/tmp']]));
    expect(pod.spec.serviceAccountName).toBe(one(ms, 'ServiceAccount').metadata.name);
  });

  it('drains before stopping: a preStop pause and a grace period longer than pause + drain', () => {
    const { pod, container } = server(ms);
    const sleep = container.lifecycle?.preStop?.exec?.command;
    expect(sleep?.[0]).toBe('sleep');
    const pause = Number(sleep?.[1]);
    expect(pause).toBeGreaterThan(0);
    const drain = Number(one(ms, 'ConfigMap', `${RELEASE}-opamp-commander`).data?.SHUTDOWN_GRACE_SECONDS);
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + drain);
  });

  it('takes JWT_SECRET and ADMIN_PASSWORD from the Secret it renders, with generated values', () => {
    const { pod, container } = server(ms);
    for (const name of ['JWT_SECRET', 'ADMIN_PASSWORD']) {
      const src = secretSource(ms, container, name);
      expect(src.rendered).toBeDefined();
      expect(decoded(src.rendered!, src.key).length).toBeGreaterThanOrEqual(16);
    }
    // No database is configured by default: no URI is invented.
    expect(env(container, 'MONGODB_URI')).toBeUndefined();
    expect(pod.metadata.annotations?.['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(pod.metadata.annotations?.['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('renders no optional resource unless asked', () => {
    for (const kind of ['Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'StatefulSet', 'ServiceMonitor']) {
      expect(all(ms, kind)).toHaveLength(0);
    }
    expect((server(ms).deployment.spec as { replicas: number }).replicas).toBe(1);
    // One replica needs no event bus: no NATS is deployed and none is configured.
    expect(all(ms, 'Deployment')).toHaveLength(1);
    expect(env(server(ms).container, 'NATS_URL')).toBeUndefined();
  });

  it('names each replica by its pod name (REPLICA_ID) and passes the NATS subject prefix', () => {
    const { container } = server(ms);
    expect(env(container, 'REPLICA_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(one(ms, 'ConfigMap', `${RELEASE}-opamp-commander`).data?.NATS_SUBJECT_PREFIX).toBe('opamp-commander');
  });

  it('ships a `helm test` pod that checks /readyz through the API Service', () => {
    const pods = all(ms, 'Pod');
    expect(pods).toHaveLength(1);
    const [pod] = pods;
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const c = (pod.spec as unknown as PodSpec).containers[0];
    expect(env(c, 'READYZ_URL')?.value).toBe(`http://${RELEASE}-opamp-commander.${NAMESPACE}.svc:8080/readyz`);
    expect(c.command?.[0]).toBe('node');
    // The test pod must never be picked up by a Service of the server.
    for (const svc of all(ms, 'Service')) expect(selects(serviceSelector(svc), pod.metadata.labels)).toBe(false);
  });
});

describe('helm chart: an external MongoDB', () => {
  it('stores mongodb.uri in the rendered Secret and passes it as MONGODB_URI', async () => {
    const uri = 'mongodb://app:s3cret@mongo-0.mongo,mongo-1.mongo/opamp?replicaSet=rs0';
    const ms = await template('-f', writeValues('external-mongodb.yaml', `mongodb:\n  uri: ${JSON.stringify(uri)}\n`));
    const src = secretSource(ms, server(ms).container, 'MONGODB_URI');
    expect(src.rendered).toBeDefined();
    expect(decoded(src.rendered!, src.key)).toBe(uri);
    // The URI is a secret: never in a ConfigMap.
    for (const cm of all(ms, 'ConfigMap')) expect(JSON.stringify(cm.data)).not.toContain('s3cret');
  });

  it('reads every secret from existingSecret and renders no Secret of its own', async () => {
    const ms = await template('--set', 'secrets.existingSecret=commander-creds');
    const { container, pod } = server(ms);
    for (const name of ['MONGODB_URI', 'JWT_SECRET', 'ADMIN_PASSWORD']) {
      expect(secretSource(ms, container, name).secret).toBe('commander-creds');
    }
    expect(all(ms, 'Secret')).toHaveLength(0);
    expect(pod.metadata.annotations?.['checksum/secret']).toBeUndefined();
  });
});

describe('helm chart: the event bus between replicas (NATS)', () => {
  const noBus = /missing property 'nats\.url, nats\.urlFromExistingSecret or nats\.embedded\.enabled=true: replicaCount > 1 or autoscaling\.enabled needs an event bus between the replicas'/;

  it.each([
    ['replicaCount=2', ['--set', 'replicaCount=2']],
    ['autoscaling.enabled=true', ['--set', 'autoscaling.enabled=true']],
  ])('refuses %s without a bus, in `helm lint` and `helm template`, saying what to set', async (_label, args) => {
    const lint = await helm('lint', CHART, '--strict', '--kube-version', KUBE_VERSION, ...args);
    expect(lint.code).not.toBe(0);
    expect(`${lint.stdout}${lint.stderr}`).toMatch(noBus);
    const tpl = await helm('template', RELEASE, CHART, '--kube-version', KUBE_VERSION, ...args);
    expect(tpl.code).not.toBe(0);
    expect(tpl.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(tpl.stderr).toMatch(noBus);
  });

  it.each([
    ['an external nats.url', ['--set', 'nats.url=nats://nats-0.nats:4222']],
    ['the embedded NATS', ['--set', 'nats.embedded.enabled=true']],
    ['NATS_URL from existingSecret', ['--set', 'nats.urlFromExistingSecret=true', '--set', 'secrets.existingSecret=commander-creds']],
  ])('accepts replicaCount=2 and autoscaling with %s', async (_label, args) => {
    for (const scale of ['replicaCount=2', 'autoscaling.enabled=true']) {
      const { container } = server(await template('--set', scale, ...args));
      expect(env(container, 'NATS_URL')).toBeDefined();
    }
  });

  it('refuses nats.urlFromExistingSecret without an existingSecret, and nats.url beside one', async () => {
    const noSecret = await helm('template', RELEASE, CHART, '--kube-version', KUBE_VERSION, '--set', 'nats.urlFromExistingSecret=true');
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toMatch(/existingSecret: nats\.urlFromExistingSecret reads NATS_URL from it/);
    const both = await helm('template', RELEASE, CHART, '--kube-version', KUBE_VERSION, '--set', 'nats.url=nats://nats:4222', '--set', 'secrets.existingSecret=commander-creds');
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/nats\.url cannot be used with secrets\.existingSecret.*key nats-url.*nats\.urlFromExistingSecret=true/);
  });

  it('deploys a hardened NATS with its Service and points every replica at it', async () => {
    const ms = await template('--set', 'replicaCount=3', '--set', 'nats.embedded.enabled=true', '--set', 'nats.subjectPrefix=fleet-a');
    const { container } = server(ms);
    const natsDeployment = all(ms, 'Deployment').find((d) => d !== server(ms).deployment);
    expect(natsDeployment).toBeDefined();
    const natsPod = podTemplate(natsDeployment!);
    const nats = natsPod.spec.containers[0];
    expect(nats.image).toMatch(/^nats:2\.\d+\.\d+/);
    expect(natsPod.spec.securityContext?.runAsNonRoot).toBe(true);
    expect(natsPod.spec.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(nats.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(nats.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect(nats.resources?.requests?.memory).toBeDefined();
    expect(nats.resources?.limits?.memory).toBeDefined();
    for (const probe of [nats.startupProbe, nats.livenessProbe, nats.readinessProbe]) {
      expect(probe?.httpGet?.path).toBe('/healthz');
      expect(containerPort(nats, probe!.httpGet!.port)).toBe(8222);
    }
    // The config file nats-server reads is the mounted ConfigMap, with the ports the probes and Service use.
    const confMount = nats.volumeMounts?.find((m) => m.readOnly);
    const confVolume = natsPod.spec.volumes?.find((v) => v.name === confMount?.name);
    const conf = one(ms, 'ConfigMap', confVolume?.configMap?.name).data?.['nats-server.conf'] ?? '';
    expect(nats.args).toEqual(['--config', `${confMount!.mountPath}/nats-server.conf`]);
    expect(conf).toMatch(/^port: 4222$/m);
    expect(conf).toMatch(/^http_port: 8222$/m);
    expect(natsPod.metadata.annotations?.['checksum/config']).toMatch(/^[0-9a-f]{64}$/);

    // NATS_URL names the Service that selects the NATS pod and forwards to its client port.
    const url = new URL(env(container, 'NATS_URL')?.value ?? '');
    expect(url.protocol).toBe('nats:');
    const svcName = url.hostname.replace(`.${NAMESPACE}.svc`, '');
    expect(url.hostname).toBe(`${svcName}.${NAMESPACE}.svc`);
    const svc = one(ms, 'Service', svcName);
    expect(selects(serviceSelector(svc), natsPod.metadata.labels)).toBe(true);
    expect(selects(serviceSelector(svc), server(ms).pod.metadata.labels)).toBe(false);
    const svcPort = servicePorts(svc).find((p) => p.port === Number(url.port));
    expect(containerPort(nats, svcPort!.targetPort)).toBe(4222);
    expect(one(ms, 'ConfigMap', `${RELEASE}-opamp-commander`).data?.NATS_SUBJECT_PREFIX).toBe('fleet-a');
    expect(env(container, 'REPLICA_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  it('stores an external nats.url in the rendered Secret, never in a ConfigMap', async () => {
    const url = 'nats://bus:pa55word@nats-0.nats:4222,nats://bus:pa55word@nats-1.nats:4222';
    const ms = await template('--set', 'replicaCount=2', '-f', writeValues('external-nats.yaml', `nats:\n  url: ${JSON.stringify(url)}\n`));
    const { container, pod } = server(ms);
    const src = secretSource(ms, container, 'NATS_URL');
    expect(src.rendered).toBeDefined();
    expect(src.key).toBe('nats-url');
    expect(decoded(src.rendered!, src.key)).toBe(url);
    for (const cm of all(ms, 'ConfigMap')) expect(JSON.stringify(cm.data)).not.toContain('pa55word');
    expect(all(ms, 'Deployment')).toHaveLength(1);
    // A new URL rolls the pods (env is read at start).
    const other = server(await template('--set', 'replicaCount=2', '--set', 'nats.url=nats://elsewhere:4222')).pod;
    expect(other.metadata.annotations?.['checksum/secret']).not.toBe(pod.metadata.annotations?.['checksum/secret']);
  });

  it('reads NATS_URL from existingSecret under the documented key', async () => {
    const ms = await template('--set', 'replicaCount=2', '--set', 'secrets.existingSecret=commander-creds', '--set', 'nats.urlFromExistingSecret=true');
    const src = secretSource(ms, server(ms).container, 'NATS_URL');
    expect(src).toMatchObject({ secret: 'commander-creds', key: 'nats-url' });
    expect(src.rendered).toBeUndefined();
  });

  it('lets the server pods, and only them, reach the embedded NATS through the NetworkPolicies', async () => {
    const ms = await template('--set', 'replicaCount=2', '--set', 'nats.embedded.enabled=true', '--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.egress.enabled=true');
    type Peer = { podSelector?: { matchLabels: Record<string, string> } };
    type Policy = { podSelector: { matchLabels: Record<string, string> }; egress?: { to?: Peer[]; ports: { port: number | string }[] }[]; ingress: { from?: Peer[]; ports: { port: number | string }[] }[] };
    const { pod } = server(ms);
    const natsPod = podTemplate(all(ms, 'Deployment').find((d) => d !== server(ms).deployment)!);
    const policies = all(ms, 'NetworkPolicy').map((p) => p.spec as unknown as Policy);
    const serverPolicy = policies.find((p) => selects(p.podSelector.matchLabels, pod.metadata.labels))!;
    const toNats = serverPolicy.egress?.find((r) => r.to?.some((peer) => peer.podSelector && selects(peer.podSelector.matchLabels, natsPod.metadata.labels)));
    expect(toNats?.ports.map((p) => p.port)).toEqual([4222]);
    const natsPolicy = policies.find((p) => selects(p.podSelector.matchLabels, natsPod.metadata.labels))!;
    expect(natsPolicy.ingress).toHaveLength(1);
    const from = natsPolicy.ingress[0].from ?? [];
    expect(from).toHaveLength(1);
    expect(selects(from[0].podSelector!.matchLabels, pod.metadata.labels)).toBe(true);
    expect(selects(from[0].podSelector!.matchLabels, natsPod.metadata.labels)).toBe(false);
  });
});

describe('helm chart: every option on (helm/values-all-on.yaml)', () => {
  let ms: Manifest[];
  beforeAll(async () => {
    ms = await template('-f', ALL_ON);
  });

  it('runs the embedded NATS as the bus of the autoscaled replicas', () => {
    const url = new URL(env(server(ms).container, 'NATS_URL')?.value ?? '');
    expect(url.hostname).toBe(`commander-nats.${NAMESPACE}.svc`);
    expect(one(ms, 'Service', 'commander-nats')).toBeDefined();
    expect(one(ms, 'Deployment', 'commander-nats')).toBeDefined();
    expect(one(ms, 'ConfigMap', 'commander').data?.NATS_SUBJECT_PREFIX).toBe('commander-prod');
  });

  it('renders Ingress, HPA, PDB, NetworkPolicy, ServiceMonitor and the MongoDB StatefulSet', () => {
    for (const kind of ['Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'StatefulSet', 'ServiceMonitor']) {
      expect(all(ms, kind).length).toBeGreaterThan(0);
    }
    const { deployment } = server(ms);
    // The HPA owns the replica count.
    expect((deployment.spec as { replicas?: number }).replicas).toBeUndefined();
    const hpa = one(ms, 'HorizontalPodAutoscaler').spec as { scaleTargetRef: { kind: string; name: string } };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    const pdb = one(ms, 'PodDisruptionBudget').spec as { selector: { matchLabels: Record<string, string> } };
    expect(selects(pdb.selector.matchLabels, podTemplate(deployment).metadata.labels)).toBe(true);
  });

  it('routes /v1/opamp to the OpAMP Service and / to the API, with WebSocket-friendly timeouts', () => {
    const ing = one(ms, 'Ingress', 'commander');
    const rules = (ing.spec as { rules: { http: { paths: { path: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }[] } }[] }).rules;
    const paths = Object.fromEntries(rules[0].http.paths.map((p) => [p.path, p.backend.service]));
    expect(paths['/v1/opamp'].name).toBe('commander-opamp');
    expect(paths['/'].name).toBe('commander');
    for (const [p, svcName] of [
      ['/v1/opamp', 'commander-opamp'],
      ['/', 'commander'],
    ]) {
      const svc = one(ms, 'Service', svcName);
      expect(servicePorts(svc).map((sp) => sp.name)).toContain(paths[p].port.name);
    }
    const a = ing.metadata.annotations ?? {};
    expect(Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
    expect(Number(a['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
    expect((ing.spec as { ingressClassName: string; tls: unknown[] }).ingressClassName).toBe('nginx');
    expect((ing.spec as { tls: unknown[] }).tls).toHaveLength(1);
    const grpcIng = one(ms, 'Ingress', 'commander-grpc');
    expect(grpcIng.metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol']).toMatch(/^GRPCS?$/);
  });

  it('exposes OpAMP and gRPC through LoadBalancer Services that still reach the pods', () => {
    const { pod, container } = server(ms);
    const opamp = serviceForContainerPort(ms, pod.metadata.labels, container, 4320);
    const grpc = serviceForContainerPort(ms, pod.metadata.labels, container, 4321);
    expect((opamp?.svc.spec as { type: string }).type).toBe('LoadBalancer');
    expect((grpc?.svc.spec as { type: string }).type).toBe('LoadBalancer');
    expect(grpc?.port.appProtocol).toBe('grpc');
  });

  it('scrapes /metrics with a ServiceMonitor that selects the Service carrying the metrics port', () => {
    const sm = one(ms, 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    const spec = sm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    expect(spec.endpoints[0].path).toBe('/metrics');
    const selected = all(ms, 'Service').filter((svc) => selects(spec.selector.matchLabels, svc.metadata.labels));
    expect(selected.map((s) => s.metadata.name)).toEqual(['commander']);
    const port = servicePorts(selected[0]).find((p) => p.name === spec.endpoints[0].port);
    expect(port).toBeDefined();
    const { container } = server(ms);
    expect(containerPort(container, port!.targetPort)).toBe(Number(one(ms, 'ConfigMap', 'commander').data?.METRICS_PORT));
  });

  it('wires MONGODB_URI to the embedded MongoDB and the other secrets to existingSecret', () => {
    const { container } = server(ms);
    const uri = secretSource(ms, container, 'MONGODB_URI');
    expect(uri.rendered).toBeDefined();
    const sts = one(ms, 'StatefulSet');
    const dbService = one(ms, 'Service', (sts.spec as { serviceName: string }).serviceName);
    const dbUri = new URL(decoded(uri.rendered!, uri.key));
    expect(dbUri.protocol).toBe('mongodb:');
    expect(dbUri.hostname).toBe(`${dbService.metadata.name}.${NAMESPACE}.svc`);
    expect(Number(dbUri.port)).toBe(servicePorts(dbService)[0].port);
    // The root password in the URI is the one the database is initialised with.
    const mongo = podTemplate(sts).spec.containers[0];
    const pw = env(mongo, 'MONGO_INITDB_ROOT_PASSWORD')?.valueFrom?.secretKeyRef;
    expect(pw?.name).toBe(uri.secret);
    expect(decodeURIComponent(dbUri.password)).toBe(decoded(uri.rendered!, pw!.key));
    expect((sts.spec as { volumeClaimTemplates: unknown[] }).volumeClaimTemplates).toHaveLength(1);
    for (const name of ['JWT_SECRET', 'ADMIN_PASSWORD']) {
      const src = secretSource(ms, container, name);
      expect(src.secret).toBe('opamp-commander-credentials');
      expect(src.rendered).toBeUndefined();
    }
  });

  it('mounts the TLS Secret read-only, names the files to the server and probes over HTTPS', () => {
    const { pod, container } = server(ms);
    const cm = one(ms, 'ConfigMap', 'commander').data ?? {};
    const tlsVolume = pod.spec.volumes?.find((v) => v.secret?.secretName === 'opamp-commander-server-tls');
    expect(tlsVolume).toBeDefined();
    const mount = container.volumeMounts?.find((m) => m.name === tlsVolume!.name);
    expect(mount?.readOnly).toBe(true);
    for (const key of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CLIENT_CA_FILE']) {
      expect(cm[key]?.startsWith(`${mount!.mountPath}/`)).toBe(true);
    }
    expect(container.readinessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(container.livenessProbe?.httpGet?.scheme).toBe('HTTPS');
  });

  it('lets agents reach OpAMP and gRPC through the NetworkPolicy, and only the server reach MongoDB', () => {
    const policies = all(ms, 'NetworkPolicy');
    const { pod } = server(ms);
    const serverPolicy = policies.find((p) => selects((p.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels, pod.metadata.labels));
    expect(serverPolicy).toBeDefined();
    const ingress = (serverPolicy!.spec as { ingress: { from?: unknown[]; ports: { port: string | number }[] }[] }).ingress;
    const agentRule = ingress.find((r) => r.ports.some((p) => p.port === 'opamp'));
    expect(agentRule?.ports.map((p) => p.port)).toEqual(expect.arrayContaining(['opamp', 'grpc']));
    expect(agentRule?.from).toBeUndefined();
    const sts = one(ms, 'StatefulSet');
    const dbPolicy = policies.find((p) => selects((p.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels, podTemplate(sts).metadata.labels));
    const dbFrom = (dbPolicy!.spec as { ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[] }).ingress[0].from;
    expect(selects(dbFrom[0].podSelector.matchLabels, pod.metadata.labels)).toBe(true);
  });

  it('mounts the config file and points OPAMP_COMMANDER_CONFIG at it', () => {
    const { pod, container } = server(ms);
    const cm = one(ms, 'ConfigMap', 'commander').data ?? {};
    const file = cm.OPAMP_COMMANDER_CONFIG;
    const mount = container.volumeMounts?.find((m) => file?.startsWith(`${m.mountPath}/`));
    const volume = pod.spec.volumes?.find((v) => v.name === mount?.name);
    const fileCm = one(ms, 'ConfigMap', volume?.configMap?.name);
    expect(fileCm.data?.[path.basename(file)]).toContain('OPAMP_HEARTBEAT_INTERVAL_SECONDS: 15');
  });
});

describe('helm chart: values.schema.json rejects bad values', () => {
  const cases: [string, string, RegExp][] = [
    ['a string where a port number belongs', 'ports:\n  api: "8080"\n', /ports\/api.*(got string, want integer|Invalid type)/s],
    ['an unknown top-level key', 'replicas: 3\n', /additional propert(y|ies) .*replicas.* not allowed/s],
    ['an unknown nested key', 'service:\n  opamp:\n    kind: LoadBalancer\n', /service\/opamp.*additional propert(y|ies) .*kind/s],
    ['a value outside an enum', 'config:\n  logFormat: xml\n', /config\/logFormat/],
    ['an out-of-range port', 'service:\n  grpc:\n    port: 70000\n', /service\/grpc\/port/],
  ];

  it.each(cases)('rejects %s in `helm lint` and `helm template`', async (label, yaml, message) => {
    const file = writeValues(`bad-${label.replace(/\W+/g, '-')}.yaml`, yaml);
    const lint = await helm('lint', CHART, '--strict', '--kube-version', KUBE_VERSION, '-f', file);
    expect(lint.code).not.toBe(0);
    expect(`${lint.stdout}${lint.stderr}`).toMatch(message);
    const tpl = await helm('template', RELEASE, CHART, '--kube-version', KUBE_VERSION, '-f', file);
    expect(tpl.code).not.toBe(0);
    expect(tpl.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(tpl.stderr).toMatch(message);
  });

  it('rejects a grace period too short to drain agent connections', async () => {
    const r = await helm('template', RELEASE, CHART, '--kube-version', KUBE_VERSION, '--set', 'terminationGracePeriodSeconds=5');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/terminationGracePeriodSeconds \(5\) must be at least/);
  });
});

describe('helm chart and Dockerfile agree', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('runs node directly as uid 10001 with the ports and data directory the chart expects', async () => {
    const ms = await template();
    const { pod, container } = server(ms);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^CMD \["node", (?:"--[^"]+", )*"dist\/src\/main\.js"\]$/m);
    expect(runtime).not.toMatch(/^(CMD|ENTRYPOINT) .*\bnpm\b/m);
    expect(runtime).toMatch(/^USER 10001(:10001)?$/m);
    expect(pod.spec.securityContext?.runAsUser).toBe(10001);
    const exposed = /^EXPOSE (.+)$/m.exec(runtime)?.[1].split(/\s+/).map(Number).sort((a, b) => a - b);
    expect(exposed).toEqual((container.ports ?? []).map((p) => p.containerPort).sort((a, b) => a - b));
    expect(runtime).toMatch(/DATA_DIR=\/data\b/);
    expect(runtime).toMatch(/^HEALTHCHECK [^\n]*\\\n\s*CMD \["node", [^\n]*127\.0\.0\.1[^\n]*\/healthz/m);
    // The chart relies on the image's CMD rather than restating it.
    expect(container.command).toBeUndefined();
  });
});
