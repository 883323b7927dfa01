import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { Histogram } from './histogram';
import { ConfigLog, FromWorker, KIND_NAMES, ToWorker, Transport, WorkerOptions, WorkerStats } from './load-protocol';

export interface GeneratorConfig {
  agents: number;
  workers: number;
  transport: Transport;
  host: string;
  port: number;
  path: string;
  sourceAddrs: number;
  heartbeatMs: number;
  configBytes: number;
  failShare: number;
  /** Every agent reports FAILED for a config whose bodies contain this text; empty: none. */
  failMarker: string;
  applyDelayMs: number;
  runId: string;
  wsDeflate: boolean;
  maxInflightConnects: number;
  answerDeadlineMs: number;
  maxBackoffMs: number;
  /** Own metrics every this many ms once turned on (ownMetrics(true)); 0: the agents never export them. */
  ownMetricsMs: number;
  ownMetricsEncoding: 'json' | 'protobuf';
}

/** Stats of all workers added up; histograms merged when asked for. */
export interface FleetStats extends Omit<WorkerStats, 'latency' | 'firstAnswer' | 'otlpLatency'> {
  at: number;
  latency?: Histogram[];
  /** Every answered message, whatever its kind. */
  latencyAll?: Histogram;
  firstAnswer?: Histogram;
  otlpLatency?: Histogram;
}

const MAX_OF = new Set(['oldestPendingMs', 'lastOpenAt', 'lastEstablishedAt', 'lastConfigAckAt', 'lastConfigAt']);

/**
 * The CLI side of the load generator: forks worker processes (each its own event loop and its
 * own file-descriptor limit), splits the fleet between them, and adds up what they measure.
 */
export class LoadGenerator {
  private readonly procs: ChildProcess[] = [];
  private readonly waiters = new Map<number, { need: number; got: WorkerStats[]; resolve: (s: WorkerStats[]) => void }>();
  private nextId = 1;
  private failure?: Error;
  private readonly failureListeners = new Set<(err: Error) => void>();

  constructor(readonly cfg: GeneratorConfig) {}

  /** Rejects the run as soon as a worker dies or reports a fatal error. */
  failed(): Promise<never> {
    return new Promise((_, reject) => {
      if (this.failure) reject(this.failure);
      else this.failureListeners.add(reject);
    });
  }

  async start(): Promise<void> {
    const { agents, workers } = this.cfg;
    const addrs = Array.from({ length: Math.max(1, this.cfg.sourceAddrs) }, (_, i) => `127.0.0.${i + 1}`);
    const ready: Promise<void>[] = [];
    let first = 0;
    for (let w = 0; w < workers; w++) {
      const count = Math.floor(agents / workers) + (w < agents % workers ? 1 : 0);
      const opts: WorkerOptions = {
        workerId: w,
        firstIndex: first,
        count,
        transport: this.cfg.transport,
        host: this.cfg.host,
        port: this.cfg.port,
        path: this.cfg.path,
        sourceAddrs: this.cfg.sourceAddrs > 1 ? addrs : [],
        heartbeatMs: this.cfg.heartbeatMs,
        tickMs: 20,
        configBytes: this.cfg.configBytes,
        failShare: this.cfg.failShare,
        failMarker: this.cfg.failMarker,
        applyDelayMs: this.cfg.applyDelayMs,
        runId: this.cfg.runId,
        wsDeflate: this.cfg.wsDeflate,
        httpMaxSockets: 256,
        maxInflightConnects: this.cfg.maxInflightConnects,
        answerDeadlineMs: this.cfg.answerDeadlineMs,
        maxBackoffMs: this.cfg.maxBackoffMs,
        ownMetricsMs: this.cfg.ownMetricsMs,
        ownMetricsPath: '/v1/metrics',
        ownMetricsEncoding: this.cfg.ownMetricsEncoding,
      };
      first += count;
      const proc = fork(path.join(__dirname, 'load-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
      this.procs.push(proc);
      ready.push(
        new Promise<void>((resolve, reject) => {
          proc.on('message', (m: FromWorker) => {
            if (m.t === 'ready') resolve();
            else if (m.t === 'fatal') {
              const err = new Error(`load worker ${w} failed: ${m.message}`);
              reject(err);
              this.fail(err);
            } else if (m.t === 'stats') this.gotStats(m.id, m.stats);
            else if (m.t === 'configTimes') this.gotConfigTimes(m.id, m.times);
            else if (m.t === 'configLog') this.gotConfigLog(m.id, m.log);
          });
          proc.on('exit', (code, signal) => {
            const err = new Error(`load worker ${w} exited (${signal ?? code})`);
            reject(err);
            if (!this.stopping) this.fail(err);
          });
        }),
      );
      proc.send({ t: 'init', opts } satisfies ToWorker);
    }
    await Promise.all(ready);
  }

  private stopping = false;

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const l of this.failureListeners) l(err);
    this.failureListeners.clear();
  }

  private broadcast(m: ToWorker): void {
    for (const p of this.procs) if (p.connected) p.send(m);
  }

  /** Connects every agent, `perSecond` new ones per second in total. */
  ramp(perSecond: number): void {
    this.broadcast({ t: 'ramp', perSecond: perSecond / this.procs.length });
  }

  /** Status changes (health flips) per second across the fleet; 0 stops them. */
  ingest(perSecond: number): void {
    this.broadcast({ t: 'ingest', perSecond: perSecond / this.procs.length });
  }

  /** Starts (true) or stops the agents' own-metrics exports, spread evenly over the interval. */
  ownMetrics(on: boolean): void {
    this.broadcast({ t: 'ownMetrics', on });
  }

  /** Drops every connection at once; the agents reconnect by their back-off rules. */
  drop(): void {
    this.broadcast({ t: 'drop' });
  }

  /** Starts a measurement window: counters and histograms back to zero. */
  reset(): void {
    this.broadcast({ t: 'reset' });
  }

  private gotStats(id: number, s: WorkerStats): void {
    const w = this.waiters.get(id);
    if (!w) return;
    w.got.push(s);
    if (w.got.length === w.need) {
      this.waiters.delete(id);
      w.resolve(w.got);
    }
  }

  async stats(histograms = false): Promise<FleetStats> {
    const id = this.nextId++;
    const all = await Promise.race([
      new Promise<WorkerStats[]>((resolve) => {
        this.waiters.set(id, { need: this.procs.length, got: [], resolve });
        this.broadcast({ t: 'stats', id, histograms });
      }),
      this.failed(),
    ]);
    return aggregate(all, histograms);
  }

  private readonly timeWaiters = new Map<number, { got: [string, number][][]; resolve: (t: Map<string, number>) => void }>();

  private gotConfigTimes(id: number, times: [string, number][]): void {
    const w = this.timeWaiters.get(id);
    if (!w) return;
    w.got.push(times);
    if (w.got.length === this.procs.length) {
      this.timeWaiters.delete(id);
      w.resolve(new Map(w.got.flat()));
    }
  }

  /** When each agent (by instance uid) received the config it holds now, epoch ms; agents without one are absent. */
  configTimes(): Promise<Map<string, number>> {
    const id = this.nextId++;
    return Promise.race([
      new Promise<Map<string, number>>((resolve) => {
        this.timeWaiters.set(id, { got: [], resolve });
        this.broadcast({ t: 'configTimes', id });
      }),
      this.failed(),
    ]);
  }

  private readonly logWaiters = new Map<number, { got: ConfigLog[][]; resolve: (l: ConfigLog[]) => void }>();

  private gotConfigLog(id: number, log: ConfigLog[]): void {
    const w = this.logWaiters.get(id);
    if (!w) return;
    w.got.push(log);
    if (w.got.length === this.procs.length) {
      this.logWaiters.delete(id);
      w.resolve(w.got.flat());
    }
  }

  /** Every agent's configs since the last reset: what arrived when, what it reported, when that was answered. */
  configLog(): Promise<ConfigLog[]> {
    const id = this.nextId++;
    return Promise.race([
      new Promise<ConfigLog[]>((resolve) => {
        this.logWaiters.set(id, { got: [], resolve });
        this.broadcast({ t: 'configLog', id });
      }),
      this.failed(),
    ]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const t = setTimeout(() => p.kill('SIGKILL'), 5000);
            p.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            if (p.connected) p.send({ t: 'stop' } satisfies ToWorker);
            else p.kill('SIGTERM');
          }),
      ),
    );
  }
}

export function aggregate(all: WorkerStats[], histograms: boolean): FleetStats {
  const out = { at: Date.now() } as FleetStats;
  const o = out as unknown as Record<string, unknown>;
  for (const s of all) {
    for (const [k, v] of Object.entries(s)) {
      if (k === 'latency' || k === 'firstAnswer' || k === 'otlpLatency') continue;
      if (typeof v === 'number') {
        if (k === 'serverCapabilities') o[k] = ((o[k] as number) ?? 0) | v;
        else if (k === 'firstConfigAt') o[k] = v && (!o[k] || v < (o[k] as number)) ? v : (o[k] ?? 0);
        else if (MAX_OF.has(k)) o[k] = Math.max((o[k] as number) ?? 0, v);
        else o[k] = ((o[k] as number) ?? 0) + v;
      } else if (Array.isArray(v)) {
        const acc = (o[k] as number[]) ?? v.map(() => 0);
        o[k] = acc.map((x, i) => x + (v[i] as number));
      } else if (k === 'lastError' && v) o[k] = v;
    }
  }
  out.lastError ??= '';
  if (histograms) {
    out.latency = KIND_NAMES.map((_, i) => Histogram.from(all.map((s) => s.latency![i])));
    out.latencyAll = Histogram.from(all.flatMap((s) => s.latency!));
    out.firstAnswer = Histogram.from(all.map((s) => s.firstAnswer!));
    out.otlpLatency = Histogram.from(all.flatMap((s) => (s.otlpLatency ? [s.otlpLatency] : [])));
  }
  return out;
}
