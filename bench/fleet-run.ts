import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { BenchArgs } from './args';
import { uidField } from './fleet-messages';
import type { LatencySummary } from './histogram';
import { FleetStats, GeneratorConfig, LoadGenerator } from './load-generator';
import { GRPC_METHOD, KIND } from './load-protocol';
import { countFds, cpuPercent, machineCpuSeconds, ProcSampler, readProc } from './proc-stats';
import { mib, ms, num, pct } from './report';
import { ApiClient, DatabaseHandle, ServerHandle, startDatabase, startEchoServer, startOpampServer } from './server-process';
import { metricsWindow, scrapeMetrics, ServerMetrics } from './server-metrics';
import { varintField } from './wire';
import { newUuidV7 } from '../src/protocol/instance-uid';

/** A scenario cannot run against this server (a feature it needs is missing): exit code 3. */
export class Unsupported extends Error {}

export interface RunEnv {
  args: BenchArgs;
  runId: string;
  /** Time stamp used in file names. */
  stamp: string;
  resultsDir: string;
  dataDir: string;
  log(line: string): void;
  /** Stoppers run in reverse order when the run ends, however it ends. */
  onCleanup(fn: () => Promise<void>): void;
}

export type TargetKind = 'opamp-commander' | 'ws-echo';

export interface Target {
  kind: TargetKind;
  server: ServerHandle;
  db?: DatabaseHandle;
  sampler: ProcSampler;
  /** Port the agents connect to. */
  port: number;
  /** REST client of OpAMP Commander (signed in when the API needs it). */
  api?: ApiClient;
  dead: boolean;
  stop(): Promise<void>;
}

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

/** Starts OpAMP Commander (with its database) or the bare ws echo server, measured once a second. */
export async function startTarget(env: RunEnv, kind: TargetKind): Promise<Target> {
  const { args } = env;
  let db: DatabaseHandle | undefined;
  let server: ServerHandle;
  const logFile = path.join(env.resultsDir, `${args.scenario}-${env.stamp}.${kind}.log`);
  if (kind === 'opamp-commander') {
    env.log(`starting the database (${args.mongodbUri ? 'external' : args.db})...`);
    db = await startDatabase(env.dataDir, args.mongodbUri, args.db);
    env.onCleanup(() => db!.stop());
    const nodeArgs = args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(env.resultsDir, `${args.scenario}-${env.stamp}-cpuprofile`)}`] : [];
    env.log(`starting OpAMP Commander (log: ${path.relative(process.cwd(), logFile)})...`);
    server = await startOpampServer({ dbUri: db.uri, dataDir: env.dataDir, heartbeatSeconds: args.heartbeat, env: args.serverEnv, nodeArgs, logFile });
  } else {
    env.log('starting the bare ws echo server...');
    server = await startEchoServer(logFile);
  }
  const sampler = new ProcSampler({ server: server.pid, db: db?.pid });
  sampler.start();
  const port = kind === 'opamp-commander' && args.transport === 'grpc' ? server.grpcPort! : server.opampPort;
  let stopped = false;
  const target: Target = {
    kind,
    server,
    db,
    sampler,
    port,
    api: server.apiPort ? new ApiClient(server.apiPort, 'admin', server.adminPassword) : undefined,
    dead: false,
    async stop() {
      if (stopped) return;
      stopped = true;
      sampler.stop();
      target.api?.close();
      const t = Date.now();
      await server.stop();
      const took = (Date.now() - t) / 1000;
      if (took > 5) env.log(`${kind} took ${took.toFixed(1)} s to stop after SIGTERM`);
    },
  };
  void server.exited.then(({ code, signal }) => {
    if (!stopped) {
      target.dead = true;
      env.log(`!! ${kind} exited unexpectedly (${signal ?? code}); see ${logFile}`);
    }
  });
  env.onCleanup(() => target.stop());
  return target;
}

/** The load generator for this run's options; `overrides` are a scenario's own settings (the rollout's fail marker). */
export function newGenerator(env: RunEnv, target: Pick<Target, 'kind' | 'port'>, agents: number, overrides: Partial<GeneratorConfig> = {}): LoadGenerator {
  const { args } = env;
  const gen = new LoadGenerator({
    agents,
    workers: args.workers ?? Math.max(2, Math.ceil(agents / 15_000)),
    transport: target.kind === 'ws-echo' ? 'ws' : args.transport,
    host: '127.0.0.1',
    port: target.port,
    path: '/v1/opamp',
    sourceAddrs: args.sourceAddrs ?? Math.ceil(agents / 20_000),
    heartbeatMs: args.heartbeat * 1000,
    configBytes: args.configBytes,
    failShare: args.failShare,
    failMarker: '',
    applyDelayMs: args.applyMs,
    runId: env.runId,
    wsDeflate: args.wsDeflate,
    maxInflightConnects: args.maxInflight,
    answerDeadlineMs: args.deadlineMs,
    maxBackoffMs: 30_000,
    ownMetricsMs: args.scenario === 'own-telemetry' ? args.metricsInterval * 1000 : 0,
    ownMetricsEncoding: args.otlpEncoding,
    ...overrides,
  });
  env.onCleanup(() => gen.stop());
  return gen;
}

/**
 * Opens one gRPC stream and waits for one answer: a clear "not served" instead of a fleet of
 * failing agents when the server has no gRPC transport (yet).
 */
export async function probeGrpc(port: number): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) => {
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(
        GRPC_METHOD,
        (b: Buffer) => b,
        (b: Buffer) => b,
        new grpc.Metadata(),
        {
          deadline: Date.now() + 10_000,
        },
      );
      call.on('data', () => {
        call.cancel();
        resolve();
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (err.code === grpc.status.CANCELLED) return;
        const why =
          err.code === grpc.status.UNIMPLEMENTED
            ? `the method is not implemented (UNIMPLEMENTED: ${err.details})`
            : err.code === grpc.status.UNAVAILABLE
              ? `nothing answers on 127.0.0.1:${port} (UNAVAILABLE: ${err.details})`
              : `${grpc.status[err.code]}: ${err.details}`;
        reject(new Unsupported(`the server does not serve OpAMP over gRPC yet: ${GRPC_METHOD} failed: ${why}`));
      });
      call.write(Buffer.concat([uidField(newUuidV7()), varintField(4, 1), varintField(2, 0)]));
    });
  } finally {
    client.close();
  }
}

export interface RampResult {
  seconds: number;
  target: number;
  established: number;
  complete: boolean;
  attempts: number;
  rejected: number;
  connectErrors: number;
  lastError: string;
  firstAnswer: LatencySummary;
  fullAnswer: LatencySummary;
  fullStateRequests: number;
  errorResponses: number;
  serverCapabilities: number;
}

function progress(env: RunEnv, target: Target, phase: string, startedAt: number, s: FleetStats, extra = ''): void {
  const p = target.sampler.sample();
  const srv = p.server;
  const cpu = (name: string) => pct(target.sampler.series[name]?.at(-1)?.cpuPct);
  env.log(
    `[${phase} ${((Date.now() - startedAt) / 1000).toFixed(0)}s] open ${num(s.open)} answered ${num(s.established)}/${num(s.agents)}` +
      ` rejected ${num(s.rejected)} errors ${num(s.connectErrors)} pending ${num(s.pending)}${extra}` +
      ` | ${target.kind} RSS ${mib(srv?.rssBytes)} CPU ${cpu('server')}${p.db ? ` | db RSS ${mib(p.db.rssBytes)} CPU ${cpu('db')}` : ''}`,
  );
}

/** Connects the whole fleet at --ramp-rate and waits until every agent has its first answer (or the ramp times out). */
export async function rampUp(env: RunEnv, target: Target, gen: LoadGenerator): Promise<RampResult> {
  const { args } = env;
  const agents = gen.cfg.agents;
  const timeoutS = args.rampTimeout ?? Math.max(90, Math.ceil(agents / args.rampRate) * 3 + 60);
  const t0 = Date.now();
  gen.reset();
  gen.ramp(args.rampRate);
  let s = await gen.stats();
  let lastLog = 0;
  let best = 0;
  let bestAt = Date.now();
  while (s.established < agents && Date.now() - t0 < timeoutS * 1000) {
    if (s.established > best) {
      best = s.established;
      bestAt = Date.now();
    } else if (s.started >= agents && Date.now() - bestAt > 30_000) {
      env.log(`ramp stalled: no new agent answered for 30 s (${num(s.established)} of ${num(agents)}; last error: ${s.lastError || 'none'})`);
      break;
    }
    if (target.dead) throw new Error(`${target.kind} died during the ramp`);
    if (s.unimplemented > 0) throw new Unsupported(`the server does not serve OpAMP over gRPC yet (${s.lastError})`);
    await Promise.race([sleep(500), gen.failed()]);
    s = await gen.stats();
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      progress(env, target, 'ramp', t0, s);
    }
  }
  const seconds = (Math.max(s.lastEstablishedAt, t0) - t0) / 1000;
  const full = await gen.stats(true);
  progress(env, target, 'ramp', t0, full, s.established < agents ? ` -- ramp incomplete after ${timeoutS} s` : ' -- all answered');
  return {
    seconds: s.established >= agents ? seconds : (Date.now() - t0) / 1000,
    target: agents,
    established: full.established,
    complete: full.established >= agents,
    attempts: full.connectAttempts,
    rejected: full.rejected,
    connectErrors: full.connectErrors,
    lastError: full.lastError,
    firstAnswer: full.firstAnswer!.summary(),
    fullAnswer: full.latency![KIND.full].summary(),
    fullStateRequests: full.fullStateRequests,
    errorResponses: full.errorResponses,
    serverCapabilities: full.serverCapabilities,
  };
}

export interface HoldResult {
  seconds: number;
  held: number;
  open: number;
  server: { rssBytes: number; peakRssBytes: number; hwmBytes: number; cpuPct: number; fds?: number; threads: number };
  db?: { rssBytes: number; cpuPct: number };
  generator: { cpuPct: number; rssBytes: number };
  /** CPU of the bench's own main process in the window (package-download's downloads run there). */
  benchCpuPct: number;
  /** CPU used by every other process of the machine during the window (in % of one CPU): noise to know about. */
  otherCpuPct: number;
  sent: number;
  sentPerSec: number;
  answersPerSec: number;
  statusPerSec: number;
  bytesInPerSec: number;
  latency: { all: LatencySummary; heartbeat: LatencySummary; status: LatencySummary };
  late: number;
  pendingAtEnd: number;
  /** Pending at the end and older than the deadline: never answered in time. */
  pendingLate: number;
  oldestPendingMs: number;
  lostPending: number;
  closedUnexpected: number;
  rejected: number;
  errorResponses: number;
  fullStateRequests: number;
  /** Every message sent in the window was answered, each within the deadline. */
  allAnsweredInTime: boolean;
  /** From the server's own /metrics over the window (event-loop lag, its message counters). */
  serverMetrics?: ServerMetrics;
}

/**
 * Keeps the fleet connected for `seconds` (optionally with status changes) and measures the window.
 * `until`: the window ends early when it settles (package-download: the downloads are done), so
 * the figures describe the load itself, not the quiet after it.
 */
export async function hold(env: RunEnv, target: Target, gen: LoadGenerator, seconds: number, ingestRate = 0, until?: Promise<unknown>): Promise<HoldResult> {
  gen.reset();
  const before = await gen.stats();
  // A first scrape also resets the server's event-loop-lag histogram: the second one covers the window.
  const sm0 = target.api ? await scrapeMetrics(target.api) : undefined;
  const p0 = target.sampler.sample();
  const m0 = machineCpuSeconds();
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  if (ingestRate > 0) gen.ingest(ingestRate);
  let lastLog = t0;
  let settled = false;
  void until?.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (Date.now() - t0 < seconds * 1000 && !settled) {
    if (target.dead) throw new Error(`${target.kind} died during the hold`);
    await Promise.race([sleep(Math.min(1000, seconds * 1000 - (Date.now() - t0))), gen.failed(), ...(until ? [until] : [])]);
    if (Date.now() - lastLog >= 10_000) {
      lastLog = Date.now();
      const s = await gen.stats();
      const el = (Date.now() - t0) / 1000;
      progress(env, target, ingestRate ? 'ingest' : 'hold', t0, s, ` sent/s ${num(s.sent.reduce((a, b) => a + b, 0) / el)} late ${num(s.late)}`);
    }
  }
  if (ingestRate > 0) gen.ingest(0);
  const p1 = target.sampler.sample();
  const m1 = machineCpuSeconds();
  const c1 = process.cpuUsage(c0);
  const elapsed = (Date.now() - t0) / 1000;
  // Messages sent in the last moments are still in flight: give them the deadline to arrive.
  await sleep(Math.min(env.args.deadlineMs + 200, 3000));
  const sm1 = target.api ? await scrapeMetrics(target.api) : undefined;
  const s = await gen.stats(true);
  const sent = s.sent.reduce((a, b) => a + b, 0);
  const fds = countFds(target.server.pid);
  const srv1 = p1.server ?? readProc(target.server.pid);
  const heldGauge = s.established;
  const result: HoldResult = {
    seconds: elapsed,
    held: heldGauge,
    open: s.open,
    server: {
      rssBytes: srv1?.rssBytes ?? NaN,
      peakRssBytes: target.sampler.peakRss.server ?? NaN,
      hwmBytes: srv1?.hwmBytes ?? NaN,
      cpuPct: cpuPercent(p0.server, p1.server),
      fds,
      threads: srv1?.threads ?? 0,
    },
    db: p1.db ? { rssBytes: p1.db.rssBytes, cpuPct: cpuPercent(p0.db, p1.db) } : undefined,
    generator: { cpuPct: ((s.workerCpuMs - before.workerCpuMs) / (elapsed * 1000)) * 100, rssBytes: s.workerRssBytes },
    benchCpuPct: ((c1.user + c1.system) / 1000 / (elapsed * 1000)) * 100,
    otherCpuPct: NaN,
    sent,
    sentPerSec: sent / elapsed,
    answersPerSec: s.answers / elapsed,
    statusPerSec: s.answersByKind[KIND.status] / elapsed,
    bytesInPerSec: s.sentBytes / elapsed,
    latency: { all: s.latencyAll!.summary(), heartbeat: s.latency![KIND.heartbeat].summary(), status: s.latency![KIND.status].summary() },
    late: s.late,
    pendingAtEnd: s.pending,
    pendingLate: s.pendingLate,
    oldestPendingMs: s.oldestPendingMs,
    lostPending: s.lostPending,
    closedUnexpected: s.closedUnexpected,
    rejected: s.rejected,
    errorResponses: s.errorResponses,
    fullStateRequests: s.fullStateRequests,
    allAnsweredInTime: s.answers > 0 && s.late === 0 && s.lostPending === 0 && s.pendingLate === 0,
    serverMetrics: metricsWindow(sm0, sm1),
  };
  const ours = [cpuPercent(p0.server, p1.server), p1.db ? cpuPercent(p0.db, p1.db) : 0, result.generator.cpuPct, result.benchCpuPct].reduce(
    (a, b) => a + (Number.isFinite(b) ? b : 0),
    0,
  );
  result.otherCpuPct = Math.max(0, ((m1 - m0) / elapsed) * 100 - ours);
  if (result.otherCpuPct > 20) env.log(`!! other processes used ${pct(result.otherCpuPct)} of a CPU during the window: figures are disturbed`);
  env.log(
    `[${ingestRate ? 'ingest' : 'hold'} done] held ${num(result.held)} | ${target.kind} RSS ${mib(result.server.rssBytes)} CPU ${pct(result.server.cpuPct)}` +
      `${result.db ? ` | db CPU ${pct(result.db.cpuPct)}` : ''} | ${num(result.sentPerSec)} msgs/s | p50 ${ms(result.latency.all.p50)} p99 ${ms(result.latency.all.p99)} max ${ms(result.latency.all.max)}`,
  );
  return result;
}

/** The whole connect-hold / ingest measurement against one target, start to stop. */
export interface FleetRun {
  target: TargetKind;
  agents: number;
  idleRssBytes: number;
  ramp: RampResult;
  hold: HoldResult;
  rssPerAgentBytes: number;
  /** (RSS after the hold - RSS before the ramp) / held connections. */
  rssPerAgentIncrementBytes: number;
}

export async function runFleet(env: RunEnv, kind: TargetKind, opts: { holdSeconds: number; ingestRate: number }): Promise<FleetRun> {
  const { args } = env;
  const target = await startTarget(env, kind);
  try {
    if (kind === 'opamp-commander' && args.transport === 'grpc') await probeGrpc(target.port);
    await sleep(2000);
    const idle = readProc(target.server.pid);
    const gen = newGenerator(env, target, args.agents);
    await gen.start();
    env.log(
      `${target.kind}: ramping ${num(args.agents)} ${kind === 'ws-echo' ? 'ws' : args.transport} agents at ${num(args.rampRate)}/s (${gen.cfg.workers} generator processes)...`,
    );
    const ramp = await rampUp(env, target, gen);
    await sleep(2000);
    const h = await hold(env, target, gen, opts.holdSeconds, opts.ingestRate);
    await gen.stop();
    return {
      target: kind,
      agents: args.agents,
      idleRssBytes: idle?.rssBytes ?? NaN,
      ramp,
      hold: h,
      rssPerAgentBytes: h.server.rssBytes / Math.max(1, h.held),
      rssPerAgentIncrementBytes: (h.server.rssBytes - (idle?.rssBytes ?? NaN)) / Math.max(1, h.held),
    };
  } finally {
    await target.stop();
    await target.db?.stop();
  }
}
