import type { Transport } from './load-protocol';

export const SCENARIOS = [
  'connect-hold',
  'ingest',
  'config-rollout',
  'rollout',
  'reconnect-storm',
  'api-list',
  'package-download',
  'fleet-counts',
  'own-telemetry',
  'replicas',
  'ui',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchArgs {
  scenario: Scenario;
  agents: number;
  transport: Transport;
  duration: number;
  heartbeat: number;
  rampRate: number;
  rampTimeout?: number;
  rate: number;
  workers?: number;
  configBytes: number;
  failShare: number;
  applyMs: number;
  baseline: boolean;
  pageSize: number;
  pages?: number;
  listQuery?: string;
  insertVia: 'mongo' | 'opamp';
  insertTimeout: number;
  stormTimeout: number;
  configTimeout: number;
  settleTimeout: number;
  serverEnv: Record<string, string>;
  mongodbUri?: string;
  db: 'embedded' | 'memory';
  cpuProf: boolean;
  label?: string;
  resultsMd: boolean;
  sourceAddrs?: number;
  wsDeflate: boolean;
  keepData: boolean;
  maxInflight: number;
  deadlineMs: number;
  downloads: number;
  packageMb: number;
  /** fleet-counts: agents stored in all (the connected ones included). */
  stored?: number;
  metricsInterval: number;
  /** ui: label changes whose way to the open agents list is timed. */
  changes: number;
  /** ui: how the stored agents are made: api-list's documents, or copies of one the server stored. */
  seed: 'api-list' | 'copy';
  otlpEncoding: 'json' | 'protobuf';
  /** rollout: the stages of the Rollout, as its spec takes them ("1%", "25", …). */
  stages: string[];
  /** rollout: bake time of every stage, seconds. */
  bake: number;
  /** rollout: every agent that receives the new revision reports FAILED (the canaries fail; the gate trips in stage 1). */
  canariesFail: boolean;
}

export class UsageError extends Error {}

export const USAGE = `Usage: npm run bench -- --scenario NAME [options]

Scenarios:
  connect-hold     ramp to --agents, hold --duration s heartbeating; RSS, CPU, msgs/s, answer latency
  ingest           --agents connected, --rate status changes/s for --duration s
  config-rollout   change the config of all --agents; time until all APPLIED (needs server-side delivery)
  rollout          a Rollout of a new revision over all --agents in --stages with --bake s each: time to Succeeded,
                   controller overhead (total - bakes), per-stage times, resends; --canaries-fail: the first
                   stage fails, time from the gate tripping until every reached agent runs the old config again
  reconnect-storm  ramp to --agents, drop every connection at once, time until all are back and answered
  api-list         store --agents agents, then time REST list pages (GET /api/v1/agents?limit=&continue=)
  package-download upload a --package-mb package, then --downloads agents download it at once while --agents heartbeat
  fleet-counts     --stored agents stored, --agents of them connected over ws, 20 groups; time group status and list reads
  replicas         nats-server + 2 replicas on one database behind a round-robin proxy; --agents ws agents; a 3rd
                   replica joins (time until the load is even); a config change through the 1st reaches the agents
                   on the others (p50/p99); then heartbeats held --duration s (p99)
  own-telemetry    --agents heartbeating; a --duration s window without, then one with every agent POSTing its own
                   metrics (OTLP/HTTP, 19 data points) every --metrics-interval s; CPU, RSS, windows, answer latency
  ui               --stored agents stored, --agents of them connected over ws; the built web UI in Chromium: first page of
                   the agents list, long tasks while paging --pages pages, the overview's database work, initial JS,
                   and --changes label changes timed to the open list while the agents send --rate status changes/s

Options (defaults in brackets):
  --agents N              simulated agents, or stored agents for api-list [1000; api-list 100000; ui 5000]
  --transport ws|http|grpc                                                   [ws]
  --duration S            hold / ingest duration in seconds                  [60]
  --heartbeat S           heartbeat (HTTP poll) interval in seconds          [30]
  --ramp-rate R           new connections per second while ramping           [500]
  --ramp-timeout S        give up ramping after S seconds                    [auto]
  --rate R                ingest, ui: status changes per second              [200; ui 500]
  --workers W             load-generator processes                           [auto: 2, or 1 per 15000 agents]
  --config-bytes B        size of the reported effective config              [8192]
  --fail-share F          config-rollout, rollout: share of agents reporting FAILED [0.05; rollout 0]
  --apply-ms MS           config-rollout: time between APPLYING and APPLIED  [100]
  --baseline              also run connect-hold/ingest against a bare ws echo server and report ratios
  --page-size L           api-list page size                                 [100]
  --pages P               api-list: most pages walked; ui: pages paged       [all; ui 20]
  --list-query Q          api-list: extra list parameters, e.g. 'selector=deployment.environment%3Dstaging'
  --insert-via mongo|opamp  api-list: write agents straight to the database or as OpAMP HTTP agents [mongo]
  --insert-timeout S      api-list: stop inserting after S seconds and use what is stored [1200]
  --storm-timeout S       reconnect-storm: give up after S seconds           [300]
  --config-timeout S      config-rollout, rollout, replicas: give up after S seconds [120]
  --stages LIST           rollout: comma-separated stages of the Rollout      [1%,10%,50%,100%]
  --bake S                rollout: bake time of each stage in seconds         [5]
  --canaries-fail         rollout: agents that get the new revision report FAILED (the first stage's gate trips)
  --settle-timeout S      replicas: give up waiting for an even load after S seconds [300]
  --server-env K=V        extra server setting (repeatable), e.g. OPAMP_MAX_NEW_CONNECTIONS_PER_SECOND=5000
  --mongodb-uri URI       use this MongoDB instead of the embedded database
  --db embedded|memory    embedded: the project's embedded database (FerretDB here); memory: the bench's
                          in-memory MongoDB stand-in (bench/mini-mongo.ts), to measure the server alone [embedded]
  --cpu-prof              run the server with --cpu-prof (profile in bench/results/)
  --label TEXT            suffix of the row name in the results table
  --no-results-md         do not touch bench/results/RESULTS.md (the run's rows; the tracked
                          bench/RESULTS.md is never written by a run)
  --source-addrs K        spread client sockets over 127.0.0.1..K            [auto: 1 per 20000 agents]
  --max-inflight N        handshakes in flight per worker while ramping      [128]
  --deadline-ms MS        an answer slower than this is late                 [1000]
  --downloads D           package-download: agents downloading at once       [200]
  --package-mb M          package-download: size of the package file in MiB  [20]
  --stored S              fleet-counts, ui: agents stored in all, connected ones included [2 x --agents; ui 100000]
  --changes C             ui: label changes timed to the open agents list    [120]
  --seed api-list|copy    ui: stored agents as api-list makes them, or copies of one the server stored for a
                          connected agent (lean; what FerretDB can read in time)  [api-list]
  --metrics-interval S    own-telemetry: own-metrics export interval         [15]
  --otlp-encoding protobuf|json  own-telemetry: body of the exports          [protobuf]
  --ws-deflate            offer permessage-deflate
  --keep-data             keep the run's temporary data directory
`;

export function parseArgs(argv: string[]): BenchArgs {
  const raw = new Map<string, string[]>();
  const flags = new Set(['baseline', 'cpu-prof', 'no-results-md', 'ws-deflate', 'keep-data', 'help', 'canaries-fail']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    let key = a.slice(2);
    let value: string;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (flags.has(key)) {
      value = 'true';
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${key} needs a value`);
      value = argv[++i];
    }
    raw.set(key, [...(raw.get(key) ?? []), value]);
  }
  if (raw.has('help')) throw new UsageError('');
  const known = new Set([
    'scenario',
    'agents',
    'transport',
    'duration',
    'heartbeat',
    'ramp-rate',
    'ramp-timeout',
    'rate',
    'workers',
    'config-bytes',
    'fail-share',
    'apply-ms',
    'baseline',
    'page-size',
    'pages',
    'list-query',
    'insert-via',
    'insert-timeout',
    'storm-timeout',
    'config-timeout',
    'settle-timeout',
    'server-env',
    'mongodb-uri',
    'db',
    'cpu-prof',
    'label',
    'no-results-md',
    'source-addrs',
    'ws-deflate',
    'keep-data',
    'max-inflight',
    'deadline-ms',
    'downloads',
    'package-mb',
    'stored',
    'metrics-interval',
    'otlp-encoding',
    'changes',
    'seed',
    'stages',
    'bake',
    'canaries-fail',
  ]);
  for (const k of raw.keys()) if (!known.has(k)) throw new UsageError(`unknown option --${k}`);
  const str = (k: string) => raw.get(k)?.at(-1);
  const int = (k: string, def: number | undefined, min: number, max: number): number | undefined => {
    const v = str(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${k} must be a number between ${min} and ${max}, got "${v}"`);
    return n;
  };
  const scenario = str('scenario');
  if (!scenario) throw new UsageError('--scenario is required');
  if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  const transport = str('transport') ?? 'ws';
  if (!['ws', 'http', 'grpc'].includes(transport)) throw new UsageError('--transport must be ws, http or grpc');
  const insertVia = str('insert-via') ?? 'mongo';
  if (!['mongo', 'opamp'].includes(insertVia)) throw new UsageError('--insert-via must be mongo or opamp');
  const seed = str('seed') ?? 'api-list';
  if (!['api-list', 'copy'].includes(seed)) throw new UsageError('--seed must be api-list or copy');
  const db = str('db') ?? 'embedded';
  if (!['embedded', 'memory'].includes(db)) throw new UsageError('--db must be embedded or memory');
  const otlpEncoding = str('otlp-encoding') ?? 'protobuf';
  if (!['protobuf', 'json'].includes(otlpEncoding)) throw new UsageError('--otlp-encoding must be protobuf or json');
  const stages = (str('stages') ?? '1%,10%,50%,100%')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (!stages.length || stages.some((x) => !/^\d+(\.\d+)?%?$/.test(x)))
    throw new UsageError(`--stages takes counts and percentages separated by commas (1%,10%,50%,100%), got "${str('stages')}"`);
  const serverEnv: Record<string, string> = {};
  for (const kv of raw.get('server-env') ?? []) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
    if (!m) throw new UsageError(`--server-env takes KEY=VALUE, got "${kv}"`);
    serverEnv[m[1]] = m[2];
  }
  return {
    scenario: scenario as Scenario,
    agents: int('agents', scenario === 'api-list' ? 100_000 : scenario === 'ui' ? 5000 : 1000, 1, 1_000_000)!,
    transport: transport as Transport,
    duration: int('duration', 60, 1, 86_400)!,
    heartbeat: int('heartbeat', 30, 1, 3600)!,
    rampRate: int('ramp-rate', 500, 1, 1_000_000)!,
    rampTimeout: int('ramp-timeout', undefined, 1, 86_400),
    rate: int('rate', scenario === 'ui' ? 500 : 200, 0, 1_000_000)!,
    workers: int('workers', undefined, 1, 64),
    configBytes: int('config-bytes', 8192, 0, 16 * 1024 * 1024)!,
    failShare: int('fail-share', scenario === 'rollout' ? 0 : 0.05, 0, 1)!,
    applyMs: int('apply-ms', 100, 0, 600_000)!,
    baseline: str('baseline') === 'true',
    pageSize: int('page-size', 100, 1, 1000)!,
    pages: int('pages', undefined, 1, 1_000_000),
    listQuery: str('list-query')?.replace(/^[?&]/, ''),
    insertVia: insertVia as 'mongo' | 'opamp',
    insertTimeout: int('insert-timeout', 1200, 1, 86_400)!,
    stormTimeout: int('storm-timeout', 300, 1, 86_400)!,
    configTimeout: int('config-timeout', 120, 1, 86_400)!,
    settleTimeout: int('settle-timeout', 300, 1, 86_400)!,
    serverEnv,
    mongodbUri: str('mongodb-uri'),
    db: db as 'embedded' | 'memory',
    cpuProf: str('cpu-prof') === 'true',
    label: str('label'),
    resultsMd: str('no-results-md') !== 'true',
    sourceAddrs: int('source-addrs', undefined, 1, 250),
    wsDeflate: str('ws-deflate') === 'true',
    keepData: str('keep-data') === 'true',
    maxInflight: int('max-inflight', 128, 1, 100_000)!,
    deadlineMs: int('deadline-ms', 1000, 1, 600_000)!,
    downloads: int('downloads', 200, 1, 100_000)!,
    packageMb: int('package-mb', 20, 0.001, 4096)!,
    stored: int('stored', undefined, 1, 1_000_000),
    metricsInterval: int('metrics-interval', 15, 1, 3600)!,
    changes: int('changes', 120, 1, 100_000)!,
    seed: seed as 'api-list' | 'copy',
    otlpEncoding: otlpEncoding as 'json' | 'protobuf',
    stages,
    bake: int('bake', 5, 0, 3600)!,
    canariesFail: str('canaries-fail') === 'true',
  };
}
