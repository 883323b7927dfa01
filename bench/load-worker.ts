/**
 * One load-generator process: simulates a slice of the fleet over WebSocket, plain HTTP or gRPC.
 * Cheap by construction: messages are assembled from pre-encoded fields, answers are scanned
 * rather than decoded, and one 20 ms tick drives heartbeats (a wheel of time slots), the ramp,
 * the status-change rate and every delayed action (a min-heap), so there are no per-agent timers.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fromBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { RemoteConfigStatuses, ServerToAgentSchema } from '../src/gen/opamp/v1/opamp_pb';
import { newUuidV7, uidToText } from '../src/protocol/instance-uid';
import { OWN_METRICS_POINTS, ownMetricsBody } from './own-metrics';
import {
  buildSharedParts,
  descriptionField,
  effectiveConfigField,
  FLAG_REPORT_FULL_STATE,
  remoteConfigStatusField,
  SharedParts,
  uidField,
} from './fleet-messages';
import { Histogram } from './histogram';
import { ConfigEvent, FromWorker, GRPC_METHOD, KIND, KIND_NAMES, OTLP_STATUS_NAMES, retryAfterMs, ToWorker, WorkerOptions, WorkerStats } from './load-protocol';
import { assemble, scanServerToAgent } from './wire';

const IDLE = 0;
const CONNECTING = 1;
const OPEN = 2;
const WAITING = 3;

interface SimAgent {
  index: number;
  local: number;
  uid: Uint8Array;
  uidPart: Buffer;
  descPart?: Buffer;
  seq: number;
  state: number;
  established: boolean;
  pendingT: number[];
  pendingK: number[];
  connectStartedAt: number;
  attempts: number;
  degraded: boolean;
  /** Retry-After (ms) of the refusal that ended the current attempt. */
  retryAfterMs: number;
  rejected: boolean;
  /** The generator closed this connection on purpose (drop, stop). */
  closingOnPurpose: boolean;
  configHash?: Buffer;
  /** When (epoch ms) the config it holds arrived. */
  configAt?: number;
  configStatus: RemoteConfigStatuses;
  /** The configs it received since the last reset (configLog), and the hash it held then. */
  configLog: ConfigEvent[];
  hashAtReset?: string;
  rcsPart?: Buffer;
  effPart?: Buffer;
  ws?: WebSocket;
  call?: grpc.ClientDuplexStream<Buffer, Buffer>;
  client?: grpc.Client;
  httpBusy: boolean;
  httpQueue: { parts: Buffer[]; kind: number }[];
  /** Epoch ms the simulated Collector process started (its cumulative counters count from there). */
  processStartMs: number;
  /** An own-metrics POST of this agent is in flight (the Collector's periodic reader exports one at a time). */
  otlpBusy: boolean;
}

class MinHeap {
  private due: number[] = [];
  private fns: (() => void)[] = [];

  get size(): number {
    return this.due.length;
  }

  push(at: number, fn: () => void): void {
    const d = this.due;
    const f = this.fns;
    let i = d.length;
    d.push(at);
    f.push(fn);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p] <= at) break;
      d[i] = d[p];
      f[i] = f[p];
      i = p;
    }
    d[i] = at;
    f[i] = fn;
  }

  /** Runs every task due at or before `now`. */
  runDue(now: number): void {
    while (this.due.length > 0 && this.due[0] <= now) {
      const fn = this.fns[0];
      this.pop();
      fn();
    }
  }

  private pop(): void {
    const d = this.due;
    const f = this.fns;
    const lastD = d.pop()!;
    const lastF = f.pop()!;
    if (d.length === 0) return;
    let i = 0;
    const n = d.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && d[r] < d[l] ? r : l;
      if (d[c] >= lastD) break;
      d[i] = d[c];
      f[i] = f[c];
      i = c;
    }
    d[i] = lastD;
    f[i] = lastF;
  }
}

function emptyStats(count: number): WorkerStats {
  return {
    agents: count,
    started: 0,
    open: 0,
    established: 0,
    establishments: 0,
    connectAttempts: 0,
    connectErrors: 0,
    rejected: 0,
    closedUnexpected: 0,
    lostPending: 0,
    sent: KIND_NAMES.map(() => 0),
    sentBytes: 0,
    answers: 0,
    answersByKind: KIND_NAMES.map(() => 0),
    pushes: 0,
    receivedBytes: 0,
    pending: 0,
    pendingLate: 0,
    oldestPendingMs: 0,
    late: 0,
    errorResponses: 0,
    fullStateRequests: 0,
    malformedReplies: 0,
    serverCapabilities: 0,
    configReceived: 0,
    configDuplicates: 0,
    configApplied: 0,
    configFailed: 0,
    configAcked: 0,
    firstConfigAt: 0,
    lastConfigAckAt: 0,
    lastConfigAt: 0,
    lastOpenAt: 0,
    lastEstablishedAt: 0,
    httpBusySkips: 0,
    unimplemented: 0,
    lastError: '',
    otlpSent: 0,
    otlpAnswered: 0,
    otlpByStatus: OTLP_STATUS_NAMES.map(() => 0),
    otlpPoints: 0,
    otlpRejectedPoints: 0,
    otlpBytes: 0,
    workerCpuMs: 0,
    workerRssBytes: 0,
  };
}

class Worker {
  private readonly agents: SimAgent[] = [];
  private readonly shared: SharedParts;
  private readonly stats: WorkerStats;
  private readonly latency = KIND_NAMES.map(() => new Histogram());
  private readonly firstAnswer = new Histogram();
  private readonly otlpLatency = new Histogram();
  /** Own-metrics exports: a second wheel, one slot per tick over the export interval, agents spread evenly. */
  private readonly metricsWheel: SimAgent[][];
  private readonly metricsSlots: number;
  private lastMetricsSlot = -1;
  private ownMetricsOn = false;
  private otlpAgent?: http.Agent;
  private readonly heap = new MinHeap();
  private readonly wheel: SimAgent[][];
  private readonly slots: number;
  private readonly t0 = performance.now();
  private lastSlot = -1;
  private lastTick = performance.now();
  private ticker?: NodeJS.Timeout;
  private nextToStart = 0;
  private rampRate = 0;
  private rampAllowance = 0;
  private ingestRate = 0;
  private ingestAllowance = 0;
  private ingestCursor = 0;
  private inflight = 0;
  private stopping = false;
  private readonly httpAgents: http.Agent[] = [];
  private readonly url: string;

  constructor(private readonly o: WorkerOptions) {
    this.stats = emptyStats(o.count);
    this.shared = buildSharedParts(o.configBytes);
    this.slots = Math.max(1, Math.round(o.heartbeatMs / o.tickMs));
    this.wheel = Array.from({ length: this.slots }, () => []);
    this.url = `ws://${o.host}:${o.port}${o.path}`;
    this.metricsSlots = Math.max(1, Math.round(o.ownMetricsMs / o.tickMs));
    this.metricsWheel = Array.from({ length: o.ownMetricsMs > 0 ? this.metricsSlots : 0 }, () => []);
    const now = Date.now();
    for (let i = 0; i < o.count; i++) {
      const uid = newUuidV7();
      const a: SimAgent = {
        index: o.firstIndex + i,
        local: i,
        uid,
        uidPart: uidField(uid),
        seq: 0,
        state: IDLE,
        established: false,
        pendingT: [],
        pendingK: [],
        connectStartedAt: 0,
        attempts: 0,
        degraded: false,
        retryAfterMs: 0,
        rejected: false,
        closingOnPurpose: false,
        configStatus: RemoteConfigStatuses.RemoteConfigStatuses_UNSET,
        configLog: [],
        httpBusy: false,
        httpQueue: [],
        // Collectors that have run for a while already (up to a day): counters do not start at zero.
        processStartMs: now - 60_000 - ((Math.imul(o.firstIndex + i + 1, 2654435761) >>> 0) % 86_400_000),
        otlpBusy: false,
      };
      this.agents.push(a);
      // Spread heartbeats evenly over the interval.
      this.wheel[Math.floor((i * this.slots) / Math.max(1, o.count)) % this.slots].push(a);
      // Own metrics too, offset by half a slot of the fleet so that they do not coincide with the heartbeats.
      if (this.metricsWheel.length) {
        this.metricsWheel[
          (Math.floor(((i + 0.5) * this.metricsSlots) / Math.max(1, o.count)) + ((o.workerId * 7919) % this.metricsSlots)) % this.metricsSlots
        ].push(a);
      }
    }
    if (o.transport === 'http') {
      for (const addr of o.sourceAddrs.length ? o.sourceAddrs : [undefined]) {
        this.httpAgents.push(new http.Agent({ keepAlive: true, maxSockets: o.httpMaxSockets, localAddress: addr }));
      }
    }
    // Each Collector keeps its own keep-alive connection to the receiver; a pool this size lets every
    // export of a tick go out at once without one socket per agent in the generator.
    if (o.ownMetricsMs > 0) this.otlpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  }

  start(): void {
    this.ticker = setInterval(() => this.tick(), this.o.tickMs);
  }

  handle(m: ToWorker): void {
    switch (m.t) {
      case 'ramp':
        this.rampRate = m.perSecond;
        break;
      case 'ingest':
        this.ingestRate = m.perSecond;
        this.ingestAllowance = 0;
        break;
      case 'ownMetrics':
        this.ownMetricsOn = m.on;
        this.lastMetricsSlot = -1;
        break;
      case 'drop':
        this.dropAll();
        break;
      case 'reset':
        this.reset();
        break;
      case 'stats':
        send({ t: 'stats', id: m.id, stats: this.snapshot(m.histograms) });
        break;
      case 'configTimes':
        send({ t: 'configTimes', id: m.id, times: this.agents.filter((a) => a.configAt !== undefined).map((a) => [uidToText(a.uid), a.configAt!]) });
        break;
      case 'configLog':
        send({
          t: 'configLog',
          id: m.id,
          log: this.agents.map((a) => ({ uid: uidToText(a.uid), before: a.hashAtReset, events: a.configLog })),
        });
        break;
      case 'stop':
        this.stop();
        break;
      default:
        break;
    }
  }

  // --- time -------------------------------------------------------------------------------

  private tick(): void {
    const now = performance.now();
    const dt = now - this.lastTick;
    this.lastTick = now;
    this.heap.runDue(now);

    if (this.rampRate > 0 && this.nextToStart < this.agents.length) {
      this.rampAllowance = Math.min(this.rampAllowance + (this.rampRate * dt) / 1000, Math.max(1, (this.rampRate * this.o.tickMs * 2) / 1000));
      while (this.rampAllowance >= 1 && this.nextToStart < this.agents.length && this.inflight < this.o.maxInflightConnects) {
        this.rampAllowance--;
        this.stats.started++;
        this.connect(this.agents[this.nextToStart++]);
      }
    }

    const slot = Math.floor((now - this.t0) / this.o.tickMs);
    let from = this.lastSlot + 1;
    if (slot - from >= this.slots) from = slot - this.slots + 1;
    for (let s = from; s <= slot; s++) {
      for (const a of this.wheel[s % this.slots]) if (a.established) this.heartbeat(a);
    }
    this.lastSlot = slot;

    if (this.ownMetricsOn && this.metricsWheel.length) {
      const ms = Math.floor((now - this.t0) / this.o.tickMs);
      let mf = this.lastMetricsSlot < 0 ? ms : this.lastMetricsSlot + 1;
      if (ms - mf >= this.metricsSlots) mf = ms - this.metricsSlots + 1;
      for (let s = mf; s <= ms; s++) {
        for (const a of this.metricsWheel[s % this.metricsSlots]) if (a.established) this.exportOwnMetrics(a);
      }
      this.lastMetricsSlot = ms;
    }

    if (this.ingestRate > 0) {
      this.ingestAllowance = Math.min(this.ingestAllowance + (this.ingestRate * dt) / 1000, Math.max(1, (this.ingestRate * this.o.tickMs * 4) / 1000));
      while (this.ingestAllowance >= 1) {
        this.ingestAllowance--;
        const a = this.nextEstablished();
        if (!a) break;
        a.degraded = !a.degraded;
        this.sendMsg(a, [a.uidPart, this.shared.capabilities, a.degraded ? this.shared.degraded : this.shared.healthy], KIND.status);
      }
    }
  }

  private nextEstablished(): SimAgent | undefined {
    for (let n = 0; n < this.agents.length; n++) {
      const a = this.agents[this.ingestCursor];
      this.ingestCursor = (this.ingestCursor + 1) % this.agents.length;
      if (a.established && !a.httpBusy) return a;
    }
    return undefined;
  }

  private later(ms: number, fn: () => void): void {
    this.heap.push(performance.now() + ms, fn);
  }

  // --- connections ------------------------------------------------------------------------

  private source(a: SimAgent): string | undefined {
    const s = this.o.sourceAddrs;
    return s.length ? s[a.index % s.length] : undefined;
  }

  private connect(a: SimAgent): void {
    if (this.stopping) return;
    a.state = CONNECTING;
    a.connectStartedAt = performance.now();
    a.rejected = false;
    a.retryAfterMs = 0;
    a.closingOnPurpose = false;
    this.stats.connectAttempts++;
    if (this.o.transport === 'ws') this.connectWs(a);
    else if (this.o.transport === 'grpc') this.connectGrpc(a);
    else this.connectHttp(a);
  }

  private connectWs(a: SimAgent): void {
    this.inflight++;
    const ws = new WebSocket(this.url, {
      perMessageDeflate: this.o.wsDeflate,
      localAddress: this.source(a),
      handshakeTimeout: 30_000,
      skipUTF8Validation: true,
      // A zero mask makes ws skip the XOR pass on the client: the server's work is unchanged.
      generateMask: (mask: Buffer) => void mask.fill(0),
    } as WebSocket.ClientOptions);
    a.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.inflight--;
      a.state = OPEN;
      this.stats.open++;
      this.stats.lastOpenAt = Date.now();
      this.sendFull(a);
    });
    ws.on('message', (data: Buffer) => this.onAnswer(a, data, 1));
    ws.on('unexpected-response', (_req, res) => {
      this.refused(a, res.statusCode ?? 0, retryAfterMs(res.headers['retry-after']));
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (a.state === CONNECTING && !a.rejected) {
        this.stats.connectErrors++;
        this.stats.lastError = err.message;
      }
    });
    ws.on('close', () => this.closed(a));
  }

  private connectGrpc(a: SimAgent): void {
    const client = new grpc.Client(`${this.o.host}:${this.o.port}`, grpc.credentials.createInsecure(), {
      // One HTTP/2 connection per agent, as real agents have; grpc-js would share one otherwise.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
    a.client = client;
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(
      GRPC_METHOD,
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    a.call = call;
    a.state = OPEN;
    this.stats.open++;
    this.stats.lastOpenAt = Date.now();
    let ended = false;
    const end = (status: grpc.StatusObject | grpc.ServiceError) => {
      if (ended) return;
      ended = true;
      const code = status.code;
      if (code === grpc.status.UNIMPLEMENTED) {
        this.stats.unimplemented++;
        this.stats.lastError = `UNIMPLEMENTED: ${status.details}`;
      } else if (code !== grpc.status.OK && code !== grpc.status.CANCELLED) {
        const md = status.metadata;
        const ra = md?.get('retry-after')[0];
        const pushback = md?.get('grpc-retry-pushback-ms')[0];
        const retry = ra !== undefined ? retryAfterMs(String(ra)) : pushback !== undefined ? Number(pushback) : undefined;
        if (!a.established && (code === grpc.status.RESOURCE_EXHAUSTED || (code === grpc.status.UNAVAILABLE && retry !== undefined))) {
          this.refused(a, code, retry);
        } else if (!a.established) {
          this.stats.connectErrors++;
          this.stats.lastError = `${grpc.status[code]}: ${status.details}`;
        }
      }
      this.closed(a);
    };
    call.on('data', (b: Buffer) => this.onAnswer(a, b, 0));
    call.on('error', (err: grpc.ServiceError) => setImmediate(() => end(err)));
    call.on('status', (s: grpc.StatusObject) => setImmediate(() => end(s)));
    this.sendFull(a);
  }

  private connectHttp(a: SimAgent): void {
    a.state = OPEN;
    this.stats.open++;
    this.sendFull(a);
  }

  private refused(a: SimAgent, status: number, retryMs: number | undefined): void {
    a.rejected = true;
    if (status === 503 || status === 429 || this.o.transport === 'grpc') this.stats.rejected++;
    else {
      this.stats.connectErrors++;
      this.stats.lastError = `HTTP ${status}`;
    }
    a.retryAfterMs = retryMs ?? 0;
  }

  /** The connection ended: forget what was in flight and come back after back-off. */
  private closed(a: SimAgent): void {
    if (a.state === CONNECTING) this.inflight--;
    if (a.state === OPEN) this.stats.open--;
    if (a.established) this.stats.established--;
    const wasEstablished = a.established;
    const wasOpen = a.state === OPEN;
    a.established = false;
    this.stats.lostPending += a.pendingT.length;
    a.pendingT.length = 0;
    a.pendingK.length = 0;
    a.ws = undefined;
    a.call = undefined;
    if (a.client) {
      a.client.close();
      a.client = undefined;
    }
    a.state = WAITING;
    if (this.stopping) return;
    if (wasOpen && !a.closingOnPurpose) this.stats.closedUnexpected++;
    this.scheduleReconnect(a, wasEstablished);
  }

  private scheduleReconnect(a: SimAgent, immediately: boolean): void {
    let delay: number;
    if (a.retryAfterMs > 0) {
      // Honour Retry-After, plus up to 10 % jitter so that a refused crowd does not return as one.
      delay = a.retryAfterMs * (1 + 0.1 * Math.random());
    } else if (immediately || a.attempts === 0) {
      delay = 0;
    } else {
      // opamp-go style exponential back-off: 0.5 s x 1.5^n, +-50 % randomisation, capped.
      delay = Math.min(this.o.maxBackoffMs, 500 * Math.pow(1.5, a.attempts - 1)) * (0.5 + Math.random());
    }
    a.attempts++;
    if (delay <= 0) setImmediate(() => this.connect(a));
    else this.later(delay, () => this.connect(a));
  }

  private dropAll(): void {
    for (const a of this.agents) {
      if (a.state !== OPEN && a.state !== CONNECTING) continue;
      a.closingOnPurpose = true;
      a.attempts = 0;
      if (a.ws) a.ws.terminate();
      else if (a.call) {
        a.call.cancel();
        a.client?.close();
      }
    }
  }

  // --- sending ----------------------------------------------------------------------------

  private sendFull(a: SimAgent): void {
    a.descPart ??= descriptionField(a.index, a.uid, this.o.runId);
    const s = this.shared;
    this.sendMsg(
      a,
      [a.uidPart, a.descPart, s.capabilities, a.degraded ? s.degraded : s.healthy, a.effPart ?? s.effectiveConfig, a.rcsPart ?? s.unsetRemoteConfigStatus],
      KIND.full,
    );
  }

  private heartbeat(a: SimAgent): void {
    if (a.httpBusy) {
      this.stats.httpBusySkips++;
      return;
    }
    this.sendMsg(a, [a.uidPart, this.shared.capabilities], KIND.heartbeat);
  }

  private sendMsg(a: SimAgent, parts: Buffer[], kind: number): void {
    if (a.state !== OPEN) return;
    const t = this.o.transport;
    if (t === 'http' && a.httpBusy) {
      // One poll at a time, as HTTP clients do; what must be reported waits for the next one.
      a.httpQueue.push({ parts, kind });
      return;
    }
    const buf = assemble(t === 'ws', parts, a.seq++);
    a.pendingT.push(performance.now());
    a.pendingK.push(kind);
    this.stats.sent[kind]++;
    this.stats.sentBytes += buf.length;
    if (t === 'ws') a.ws!.send(buf, { binary: true, compress: this.o.wsDeflate });
    else if (t === 'grpc') a.call!.write(buf);
    else this.post(a, buf);
  }

  private post(a: SimAgent, body: Buffer): void {
    a.httpBusy = true;
    const agent = this.httpAgents[a.index % this.httpAgents.length];
    const req = http.request(
      {
        host: this.o.host,
        port: this.o.port,
        path: this.o.path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        if (res.statusCode === 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            a.httpBusy = false;
            this.onAnswer(a, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), 0);
            this.drainHttp(a);
          });
          res.on('error', () => this.httpFailed(a, 0, undefined));
        } else {
          res.resume();
          this.httpFailed(a, res.statusCode ?? 0, retryAfterMs(res.headers['retry-after']));
        }
      },
    );
    req.on('error', (err) => {
      this.stats.lastError = err.message;
      this.httpFailed(a, -1, undefined);
    });
    req.end(body);
  }

  /** A poll failed: the message is lost (as opamp-go drops it); before the first answer, retry the full state. */
  private httpFailed(a: SimAgent, status: number, retryMs: number | undefined): void {
    if (!a.httpBusy) return;
    a.httpBusy = false;
    a.pendingT.shift();
    a.pendingK.shift();
    this.stats.lostPending++;
    if (status === 503 || status === 429) this.stats.rejected++;
    else this.stats.connectErrors++;
    if (this.stopping) return;
    if (!a.established) {
      a.httpQueue.length = 0;
      a.retryAfterMs = retryMs ?? 0;
      const delay =
        retryMs !== undefined ? retryMs * (1 + 0.1 * Math.random()) : Math.min(this.o.maxBackoffMs, 500 * Math.pow(1.5, a.attempts)) * (0.5 + Math.random());
      a.attempts++;
      this.later(delay, () => this.sendFull(a));
    } else {
      this.drainHttp(a);
    }
  }

  private drainHttp(a: SimAgent): void {
    const next = a.httpQueue.shift();
    if (next) this.sendMsg(a, next.parts, next.kind);
  }

  // --- own metrics (OTLP/HTTP) -------------------------------------------------------------

  private exportOwnMetrics(a: SimAgent): void {
    if (a.otlpBusy || this.stopping) return;
    a.otlpBusy = true;
    const { body, contentType } = ownMetricsBody(
      { uidText: uidToText(a.uid), index: a.index, processStartMs: a.processStartMs },
      Date.now(),
      this.o.ownMetricsEncoding,
    );
    const sentAt = performance.now();
    this.stats.otlpSent++;
    this.stats.otlpPoints += OWN_METRICS_POINTS;
    this.stats.otlpBytes += body.length;
    const done = (status: number, answer?: Buffer) => {
      if (!a.otlpBusy) return;
      a.otlpBusy = false;
      this.otlpLatency.record(performance.now() - sentAt);
      this.stats.otlpAnswered++;
      const i = status < 0 ? OTLP_STATUS_NAMES.length - 1 : (OTLP_STATUS_NAMES as readonly string[]).indexOf(String(status));
      this.stats.otlpByStatus[i >= 0 ? i : OTLP_STATUS_NAMES.length - 2]++;
      if (status === 200 && answer && answer.length > 2) this.stats.otlpRejectedPoints += rejectedPoints(answer, contentType);
      if (status < 0 && !this.stats.lastError) this.stats.lastError = 'own metrics: network error';
    };
    const req = http.request(
      {
        host: this.o.host,
        port: this.o.port,
        path: this.o.ownMetricsPath,
        method: 'POST',
        agent: this.otlpAgent,
        headers: { 'content-type': contentType, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks)));
        res.on('error', () => done(-1));
      },
    );
    req.setTimeout(30_000, () => req.destroy());
    req.on('error', () => done(-1));
    req.end(body);
  }

  // --- answers ----------------------------------------------------------------------------

  private onAnswer(a: SimAgent, buf: Buffer, offset: number): void {
    const now = performance.now();
    this.stats.receivedBytes += buf.length;
    const scan = scanServerToAgent(buf, offset);
    if (!scan.ok) this.stats.malformedReplies++;
    if (a.pendingT.length > 0) {
      const sentAt = a.pendingT.shift()!;
      const kind = a.pendingK.shift()!;
      const ms = now - sentAt;
      this.latency[kind].record(ms);
      if (ms > this.o.answerDeadlineMs) this.stats.late++;
      this.stats.answers++;
      this.stats.answersByKind[kind]++;
      if (kind === KIND.configFinal) {
        this.stats.configAcked++;
        this.stats.lastConfigAckAt = Date.now();
        // Answers come in order: this one answers the oldest final report not answered yet.
        const ev = a.configLog.find((e) => e.status && e.ackAt === undefined);
        if (ev) ev.ackAt = this.stats.lastConfigAckAt;
      }
    } else {
      this.stats.pushes++;
    }
    if (!a.established) {
      a.established = true;
      a.attempts = 0;
      this.stats.established++;
      this.stats.establishments++;
      this.stats.lastEstablishedAt = Date.now();
      this.firstAnswer.record(now - a.connectStartedAt);
    }
    if (scan.hasCapabilities) this.stats.serverCapabilities |= scan.capabilities;
    if (scan.hasError) this.stats.errorResponses++;
    if (scan.flags & FLAG_REPORT_FULL_STATE) {
      this.stats.fullStateRequests++;
      this.sendFull(a);
    }
    if (scan.hasRemoteConfig) this.onRemoteConfig(a, offset ? buf.subarray(offset) : buf);
  }

  /** APPLYING at once, then APPLIED (with the new effective config) or FAILED for the chosen share. */
  private onRemoteConfig(a: SimAgent, bytes: Uint8Array): void {
    const msg = fromBinary(ServerToAgentSchema, bytes);
    const rc = msg.remoteConfig;
    if (!rc) return;
    this.stats.configReceived++;
    if (!this.stats.firstConfigAt) this.stats.firstConfigAt = Date.now();
    const hash = Buffer.from(rc.configHash);
    if (a.configHash?.equals(hash)) {
      this.stats.configDuplicates++;
      return;
    }
    a.configHash = hash;
    a.configAt = Date.now();
    this.stats.lastConfigAt = a.configAt;
    const ev: ConfigEvent = { hash: hash.toString('hex'), at: a.configAt };
    a.configLog.push(ev);
    a.configStatus = RemoteConfigStatuses.RemoteConfigStatuses_APPLYING;
    a.rcsPart = remoteConfigStatusField(hash, a.configStatus);
    this.sendMsg(a, [a.uidPart, this.shared.capabilities, a.rcsPart], KIND.configApplying);
    const fails = (Math.imul(a.index + 1, 2654435761) >>> 0) / 2 ** 32 < this.o.failShare || this.carriesFailMarker(rc.config?.configMap);
    const finish = () => {
      if (!a.configHash?.equals(hash)) return; // superseded by a newer config
      if (fails) {
        a.configStatus = RemoteConfigStatuses.RemoteConfigStatuses_FAILED;
        a.rcsPart = remoteConfigStatusField(hash, a.configStatus, 'bench: simulated failure: receivers::otlp: invalid endpoint');
        this.stats.configFailed++;
        ev.status = 'FAILED';
        ev.reportedAt = Date.now();
        this.sendMsg(a, [a.uidPart, this.shared.capabilities, a.rcsPart], KIND.configFinal);
      } else {
        a.configStatus = RemoteConfigStatuses.RemoteConfigStatuses_APPLIED;
        a.rcsPart = remoteConfigStatusField(hash, a.configStatus);
        a.effPart = effectiveConfigField(rc.config);
        this.stats.configApplied++;
        ev.status = 'APPLIED';
        ev.reportedAt = Date.now();
        this.sendMsg(a, [a.uidPart, this.shared.capabilities, a.rcsPart, a.effPart], KIND.configFinal);
      }
    };
    if (this.o.applyDelayMs > 0) this.later(this.o.applyDelayMs, finish);
    else setImmediate(finish);
  }

  /** Whether a config's bodies contain the fail marker (the rollout scenario's failing canaries). */
  private carriesFailMarker(map: { [file: string]: { body: Uint8Array } } | undefined): boolean {
    if (!this.o.failMarker || !map) return false;
    return Object.values(map).some((f) => Buffer.from(f.body.buffer, f.body.byteOffset, f.body.byteLength).includes(this.o.failMarker));
  }

  // --- reporting --------------------------------------------------------------------------

  private reset(): void {
    const keep = this.stats;
    const fresh = emptyStats(this.o.count);
    // Gauges survive a reset; counters start again.
    fresh.started = keep.started;
    fresh.open = keep.open;
    fresh.established = keep.established;
    fresh.serverCapabilities = keep.serverCapabilities;
    Object.assign(this.stats, fresh);
    for (const h of this.latency) h.reset();
    for (const a of this.agents) {
      a.configLog = [];
      a.hashAtReset = a.configHash?.toString('hex');
    }
    this.firstAnswer.reset();
    this.otlpLatency.reset();
  }

  private snapshot(histograms: boolean): WorkerStats {
    const now = performance.now();
    let pending = 0;
    let pendingLate = 0;
    let oldest = 0;
    for (const a of this.agents) {
      pending += a.pendingT.length;
      if (a.pendingT.length) oldest = Math.max(oldest, now - a.pendingT[0]);
      for (const t of a.pendingT) if (now - t > this.o.answerDeadlineMs) pendingLate++;
    }
    const cpu = process.cpuUsage();
    const out: WorkerStats = {
      ...this.stats,
      sent: [...this.stats.sent],
      answersByKind: [...this.stats.answersByKind],
      otlpByStatus: [...this.stats.otlpByStatus],
      pending,
      pendingLate,
      oldestPendingMs: oldest,
      workerCpuMs: (cpu.user + cpu.system) / 1000,
      workerRssBytes: process.memoryUsage.rss(),
    };
    if (histograms) {
      out.latency = this.latency.map((h) => h.snapshot());
      out.firstAnswer = this.firstAnswer.snapshot();
      out.otlpLatency = this.otlpLatency.snapshot();
    }
    return out;
  }

  private stop(): void {
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    for (const a of this.agents) {
      a.closingOnPurpose = true;
      a.ws?.terminate();
      a.call?.cancel();
      a.client?.close();
    }
    for (const h of this.httpAgents) h.destroy();
    this.otlpAgent?.destroy();
    send({ t: 'stopped' });
    setTimeout(() => process.exit(0), 200).unref();
  }
}

/** Data points the server refused in a 200 answer (OTLP partial_success.rejected_data_points, field 1 of field 1). */
function rejectedPoints(answer: Buffer, contentType: string): number {
  if (contentType === 'application/json') {
    try {
      return (
        Number(
          (JSON.parse(answer.toString('utf8')) as { partialSuccess?: { rejectedDataPoints?: string | number } }).partialSuccess?.rejectedDataPoints ?? 0,
        ) || 0
      );
    } catch {
      return 0;
    }
  }
  // ExportMetricsServiceResponse { partial_success (1) { rejected_data_points (1, int64) } }: small enough to scan by hand.
  let i = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    while (i < answer.length) {
      const byte = answer[i++];
      v += (byte & 0x7f) * mul;
      if (!(byte & 0x80)) break;
      mul *= 128;
    }
    return v;
  };
  if (answer[i++] !== 0x0a) return 0;
  varint(); // length of partial_success
  return answer[i++] === 0x08 ? varint() : 0;
}

function send(m: FromWorker): void {
  process.send?.(m);
}

if (require.main === module) {
  let worker: Worker | undefined;
  process.on('message', (m: ToWorker) => {
    try {
      if (m.t === 'init') {
        worker = new Worker(m.opts);
        worker.start();
        send({ t: 'ready' });
      } else worker?.handle(m);
    } catch (err) {
      send({ t: 'fatal', message: (err as Error).stack ?? String(err) });
    }
  });
  // The CLI went away: stop at once rather than linger with thousands of sockets.
  process.on('disconnect', () => process.exit(0));
  process.on('uncaughtException', (err) => {
    send({ t: 'fatal', message: err.stack ?? String(err) });
    setTimeout(() => process.exit(1), 100);
  });
}
