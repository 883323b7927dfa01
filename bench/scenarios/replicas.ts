import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NatsServer, natsServerBinary } from '../../test/support/nats-server';
import { RoundRobinProxy } from '../../test/support/round-robin-proxy';
import { hold, newGenerator, rampUp, RunEnv, sleep, Target, Unsupported } from '../fleet-run';
import { cpuPercent, ProcSampler } from '../proc-stats';
import { mib, ms, num, pct, ResultsSection, secs } from '../report';
import { ApiClient, ServerHandle, startDatabase, startOpampServer } from '../server-process';
import { groupName, prepareConfigGroup, TriggerContext, triggerConfigChange, waitForReports } from './config-rollout';
import { Outcome, runName } from './outcome';

export const REPLICAS: ResultsSection = {
  id: 'replicas',
  title: 'replicas (issue 17: scale-out on NATS)',
  about:
    'nats-server and 3 replicas (separate processes) on one database, a round-robin TCP proxy (in the bench process) in front. ' +
    'N WebSocket agents connect while replicas A and B are up; then C joins: time until every replica holds at most its share plus the tolerance ' +
    '(as their records say, no drain running), connections shed and refused (over-share) meanwhile, the answer p99 / max during it. ' +
    'Then a new revision of the config of the group of all agents is written through A: time from just before the REST write until each agent ' +
    'received the new remote config (agents held by B and C, which learn it over NATS, apart from those on A), and until all reported APPLIED. ' +
    'Then the fleet heartbeats for --duration s: heartbeat answer p50 / p99 and the CPU of each process. ' +
    'Last, another revision through A, and C killed with SIGKILL as soon as the write is answered: time until every agent (those of C ' +
    'reconnected through the proxy to A or B) received it, until the server counts every agent APPLIED/FAILED on it, and how many agents got it twice.',
  columns: [
    'Run',
    'Held A / B / C after settling',
    'Scale-out 2 → 3: even after, shed, refused',
    'Answers during it p99 / max',
    'Config via A → on B, C: p50 / p99 / max',
    '→ on A: p50 / p99',
    'All APPLIED after',
    'Heartbeat p50 / p99 / max',
    'CPU A / B / C, DB, NATS (heartbeat window)',
    'C killed after a change via A: agents on C; all received / all APPLIED after; received twice',
  ],
};

const NAMES = ['bench-a', 'bench-b', 'bench-c'] as const;

interface Replica {
  name: string;
  server: ServerHandle;
  api: ApiClient;
  /** SIGKILL, as a crash: no drain, no goodbye to the registry or the agents. */
  kill(): Promise<void>;
}

interface ReplicaRow {
  movable?: number;
  state?: string;
}

/** The q-quantile of unsorted values (nearest rank), NaN when empty. */
function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The sum of one Prometheus counter's series whose labels include every given `k="v"`. */
function counter(text: string, name: string, labels: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !labels.every((l) => line.includes(l))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

async function movement(r: Replica): Promise<{ shed: number; refused: number }> {
  const res = await r.api.request('GET', '/metrics');
  return {
    shed: counter(res.text, 'opamp_agent_connections_shed_total', ['reason="rebalance"']),
    refused: counter(res.text, 'opamp_admission_rejections_total', ['reason="over-share"']),
  };
}

/** Each replica's record (GET /api/v1/replicas): movable agents and drain state. */
async function records(api: ApiClient): Promise<Record<string, ReplicaRow>> {
  const res = await api.request('GET', '/api/v1/replicas');
  if (res.status !== 200) throw new Error(`GET /api/v1/replicas answered ${res.status}: ${res.text.slice(0, 200)}`);
  const body = JSON.parse(res.text) as {
    items: { metadata: { name: string }; status: { movableAgents?: number | null; rebalance?: { state?: string } | null } }[];
  };
  return Object.fromEntries(body.items.map((i) => [i.metadata.name, { movable: i.status.movableAgents ?? undefined, state: i.status.rebalance?.state }]));
}

/** Which replica holds each agent (GET /api/v1/agents, every page), by instance uid. */
async function holders(api: ApiClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cont: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const res = await api.request('GET', `/api/v1/agents?limit=1000${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
    if (res.status !== 200) throw new Error(`GET /api/v1/agents answered ${res.status}: ${res.text.slice(0, 200)}`);
    const body = JSON.parse(res.text) as {
      items: { metadata: { name: string }; status?: { connection?: { replica?: string } } }[];
      metadata?: { continue?: string };
    };
    for (const i of body.items) if (i.status?.connection?.replica) out.set(i.metadata.name.toLowerCase(), i.status.connection.replica);
    cont = body.metadata?.continue;
    if (!cont) break;
  }
  return out;
}

export async function replicas(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  if (args.transport !== 'ws') throw new Unsupported('the replicas scenario runs WebSocket agents only (--transport ws)');
  if (!natsServerBinary()) throw new Unsupported('nats-server is not installed (scripts/install-nats.sh installs it)');
  env.log('starting nats-server...');
  const nats = await NatsServer.start();
  env.onCleanup(() => nats.stop());
  env.log(`starting the database (${args.mongodbUri ? 'external' : args.db})...`);
  const db = await startDatabase(env.dataDir, args.mongodbUri, args.db);
  env.onCleanup(() => db.stop());

  // Cluster timings shortened from the defaults (heartbeat 5 s, window and cooldown 30 s) so a run fits the
  // machine's time; the tolerance is the default one, written out so that the bench knows it.
  const settings: Record<string, string> = {
    NATS_URL: nats.url,
    REPLICA_HEARTBEAT_SECONDS: '2',
    REPLICA_TIMEOUT_SECONDS: '10',
    REBALANCE_WINDOW_SECONDS: '10',
    REBALANCE_COOLDOWN_SECONDS: '10',
    REBALANCE_TOLERANCE_PERCENT: '10',
    REBALANCE_TOLERANCE_MIN_AGENTS: '5',
    // One administrator password for all: each start applies ADMIN_PASSWORD (a different one would rotate it).
    ADMIN_PASSWORD: `bench-${randomBytes(18).toString('base64url')}`,
    // And one signing key, so that a token from one replica is good on the others.
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ...args.serverEnv,
  };
  const started: Replica[] = [];
  let dead = '';
  const startReplica = async (name: string): Promise<Replica> => {
    const dataDir = path.join(env.dataDir, name);
    fs.mkdirSync(dataDir, { recursive: true });
    const logFile = path.join(env.resultsDir, `${args.scenario}-${env.stamp}.${name}.log`);
    env.log(`starting replica ${name} (log: ${path.relative(process.cwd(), logFile)})...`);
    const server = await startOpampServer({
      dbUri: db.uri,
      dataDir,
      heartbeatSeconds: args.heartbeat,
      env: { ...settings, REPLICA_ID: name },
      nodeArgs: [],
      logFile,
    });
    let stopping = false;
    const r: Replica = {
      name,
      server,
      api: new ApiClient(server.apiPort!, 'admin', server.adminPassword),
      kill: async () => {
        stopping = true;
        process.kill(server.pid, 'SIGKILL');
        await server.exited;
      },
    };
    void server.exited.then(({ code, signal }) => {
      if (stopping) return;
      dead = `${name} exited (${signal ?? code})`;
      env.log(`!! replica ${dead}; see ${logFile}`);
    });
    env.onCleanup(async () => {
      stopping = true;
      r.api.close();
      await server.stop();
    });
    started.push(r);
    return r;
  };
  // One after the other: the first creates the indexes and the administrator.
  const a = await startReplica(NAMES[0]);
  const b = await startReplica(NAMES[1]);
  const proxy = await RoundRobinProxy.start([a.server.opampPort, b.server.opampPort]);
  env.onCleanup(() => proxy.close());

  const sampler = new ProcSampler({ server: a.server.pid, b: b.server.pid, db: db.pid, nats: nats.pid! });
  sampler.start();
  env.onCleanup(async () => sampler.stop());
  // The front the fleet code sees: agents reach the proxy; A answers the REST calls and is measured as "server".
  const front: Target = {
    kind: 'opamp-commander',
    server: a.server,
    db,
    sampler,
    port: proxy.port,
    api: a.api,
    get dead() {
      return dead !== '';
    },
    set dead(_v: boolean) {},
    stop: async () => undefined,
  };

  const gen = newGenerator(env, front, args.agents);
  await gen.start();
  env.log(`ramping ${num(args.agents)} ws agents through the proxy onto ${a.name} and ${b.name} at ${num(args.rampRate)}/s...`);
  const ramp = await rampUp(env, front, gen);
  if (!ramp.complete) env.log(`!! only ${num(ramp.established)} of ${num(args.agents)} agents connected`);
  const held = ramp.established;

  // (a) Scale-out from 2 to 3: C joins, the proxy sends it every third new connection.
  const share = Math.ceil(held / 3);
  const tolerance = Math.max(Number(settings.REBALANCE_TOLERANCE_MIN_AGENTS), Math.ceil((share * Number(settings.REBALANCE_TOLERANCE_PERCENT)) / 100));
  const before = await Promise.all([a, b].map(movement));
  const rampShed = before.reduce((n, m) => n + m.shed, 0);
  const rampRefused = before.reduce((n, m) => n + m.refused, 0);
  const recordedBefore = await records(a.api);
  // What one round should shed: each replica's excess over the 3-replica share plus the tolerance.
  const surplus = NAMES.reduce((n, name) => n + Math.max(0, (recordedBefore[name]?.movable ?? 0) - share - tolerance), 0);
  const c = await startReplica(NAMES[2]);
  sampler.add('c', c.server.pid);
  gen.reset();
  proxy.backends = [a.server.opampPort, b.server.opampPort, c.server.opampPort];
  const s0 = Date.now();
  env.log(`${c.name} is up: waiting until each replica holds at most ${share} + ${tolerance} of ${num(held)} agents...`);
  let spread: Record<string, ReplicaRow> = {};
  let evenAfter = NaN;
  let lastLog = 0;
  while (Date.now() - s0 < args.settleTimeout * 1000 && !dead) {
    spread = await records(a.api).catch((e: Error) => {
      env.log(`replica records not read: ${e.message}`);
      return spread;
    });
    const rows = NAMES.map((n) => spread[n]);
    const counts = rows.map((r) => r?.movable ?? 0);
    const sum = counts.reduce((x, y) => x + y, 0);
    const even = rows.every((r) => r !== undefined && r.state === 'idle') && counts.every((n) => n <= share + tolerance) && sum >= held;
    if (even) {
      evenAfter = (Date.now() - s0) / 1000;
      break;
    }
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      env.log(`[scale-out ${((Date.now() - s0) / 1000).toFixed(0)}s] ${NAMES.map((n, i) => `${n} ${counts[i]} ${rows[i]?.state ?? '?'}`).join(', ')}`);
    }
    await sleep(1000);
  }
  const during = await gen.stats(true);
  const after = await Promise.all([a, b, c].map(movement));
  const shed = after.reduce((n, m, i) => n + m.shed - (before[i]?.shed ?? 0), 0);
  const refused = after.reduce((n, m, i) => n + m.refused - (before[i]?.refused ?? 0), 0);
  const duringAll = during.latencyAll!.summary();
  const heldBy = NAMES.map((n) => spread[n]?.movable ?? 0);
  env.log(
    `scale-out: ${Number.isFinite(evenAfter) ? `even after ${secs(evenAfter)}` : `not even within ${args.settleTimeout} s`}: ${heldBy.join(' / ')}; ` +
      `shed ${shed} (one round sheds ${surplus}), refused ${refused}, 503s seen by agents ${during.rejected}`,
  );
  await sleep(3000);

  // (b) A config change through A reaches the agents on B and C over NATS.
  const ctx: TriggerContext = { api: a.api, runId: env.runId, agents: held, revision: 1, log: env.log };
  gen.reset();
  const a0 = Date.now();
  env.log('creating the remote config and the agent group through A (revision 1)...');
  await prepareConfigGroup(ctx);
  const initial = await waitForReports(env, front, gen, 'assign', held, a0);
  const initialDone = initial.configAcked >= held;
  const initialS = initialDone ? (initial.lastConfigAckAt - a0) / 1000 : NaN;
  env.log(`revision 1: ${num(initial.configAcked)} of ${num(held)} reported${initialDone ? ` in ${secs(initialS)}` : ` within ${args.configTimeout} s`}`);
  const onA: number[] = [];
  const onOthers: number[] = [];
  let unplaced = 0;
  let allApplied = false;
  let allAppliedS = NaN;
  let configProblem = '';
  if (!initialDone) {
    // Without every agent on revision 1 the change cannot be timed; the database has usually stopped answering.
    configProblem = `revision 1 reached only ${num(initial.configAcked)} of ${num(held)} reports within ${args.configTimeout} s`;
    env.log(`!! ${configProblem}: the change is not measured`);
  } else {
    await sleep(2000);
    gen.reset();
    ctx.revision = 2;
    const t0 = Date.now();
    env.log('changing the config through A (revision 2)...');
    await triggerConfigChange(ctx);
    const full = await waitForReports(env, front, gen, 'rollout', held, t0);
    allApplied = full.configAcked >= held;
    allAppliedS = allApplied ? (full.lastConfigAckAt - t0) / 1000 : NaN;
    if (!allApplied) configProblem = `only ${num(full.configAcked)} of ${num(held)} reported within ${args.configTimeout} s`;
    const times = await gen.configTimes();
    const holder = await holders(a.api);
    for (const [uid, at] of times) {
      if (at < t0) continue; // still on revision 1
      const on = holder.get(uid.toLowerCase());
      if (on === undefined) unplaced++;
      (on === a.name ? onA : onOthers).push(at - t0);
    }
  }
  const received = onA.length + onOthers.length;
  const within1s = onOthers.filter((x) => x <= 1000).length;
  env.log(
    `revision 2: ${num(received)} of ${num(held)} received it (on B, C: ${num(onOthers.length)}, p50 ${ms(quantile(onOthers, 0.5))} p99 ${ms(quantile(onOthers, 0.99))}; ` +
      `on A: ${num(onA.length)}, p99 ${ms(quantile(onA, 0.99))}); all APPLIED after ${secs(allAppliedS)}`,
  );

  // (c) Heartbeats held; every process's CPU over the same window.
  const p0 = sampler.sample();
  const h = await hold(env, front, gen, args.duration);
  const p1 = sampler.sample();
  const cpuOf = (n: string) => cpuPercent(p0[n], p1[n]);
  const cpuWindow = { a: cpuOf('server'), b: cpuOf('b'), c: cpuOf('c'), db: cpuOf('db'), nats: cpuOf('nats') };
  const hb = h.latency.heartbeat;

  // (d) Another change through A, and C killed (SIGKILL) as soon as the write is answered: C's agents
  // lose their connection, reconnect through the proxy to A or B and must end on the new revision.
  const killed = allApplied && !dead ? await changeWithReplicaKilled(env, { a, c, proxy, gen, ctx, held, backends: [a, b] }) : undefined;
  await gen.stop();

  const summary: [string, string][] = [
    ['agents held / target', `${num(held)} / ${num(args.agents)}`],
    ['ramp through the proxy onto A, B', `${secs(ramp.seconds)} (first answer p99 ${ms(ramp.firstAnswer.p99)})`],
    ['during the ramp: shed / refused over-share / 503s seen by agents', `${num(rampShed)} / ${num(rampRefused)} / ${num(ramp.rejected)}`],
    ['scale-out 2 -> 3: even after', Number.isFinite(evenAfter) ? secs(evenAfter) : `not within ${args.settleTimeout} s`],
    ['held A / B / C after settling', `${heldBy.map((n) => num(n)).join(' / ')} (share ${share} + tolerance ${tolerance})`],
    [
      'connections shed (one round: surplus) / refused over-share / 503s seen by agents',
      `${num(shed)} (${num(surplus)}) / ${num(refused)} / ${num(during.rejected)}`,
    ],
    ['answers during the scale-out p50 / p99 / max', `${ms(duringAll.p50)} / ${ms(duringAll.p99)} / ${ms(duringAll.max)}`],
    ['revision 1 (initial assignment): all reported after', initialDone ? secs(initialS) : configProblem],
    [
      'config via A -> agents on B, C: received',
      `${num(onOthers.length)}, p50 ${ms(quantile(onOthers, 0.5))} / p99 ${ms(quantile(onOthers, 0.99))} / max ${ms(Math.max(...onOthers))}`,
    ],
    ['config via A -> agents on B, C within 1 s', `${num(within1s)} of ${num(onOthers.length)}`],
    ['config via A -> agents on A: received', `${num(onA.length)}, p50 ${ms(quantile(onA, 0.5))} / p99 ${ms(quantile(onA, 0.99))}`],
    ['agents whose holder the REST list did not name', num(unplaced)],
    ['config via A: all APPLIED after', allApplied ? secs(allAppliedS) : configProblem],
    ['heartbeat answer p50 / p99 / max', `${ms(hb.p50)} / ${ms(hb.p99)} / ${ms(hb.max)}`],
    ['C killed after a change via A: agents C held', killed ? num(killed.onC) : 'not run (the change before it did not complete)'],
    [
      '… every agent received it / all APPLIED (server count) after',
      killed ? `${secs(killed.allReceivedS)} / ${killed.problem || secs(killed.allAppliedS)}` : '—',
    ],
    ['… agents reconnected / received the config twice', killed ? `${num(killed.reconnected)} / ${num(killed.twice)}` : '—'],
    ['heartbeats late (> deadline) / unanswered', `${num(h.late)} / ${num(h.lostPending + h.pendingLate)}`],
    ['CPU A / B / C / DB / NATS (heartbeat window)', [cpuWindow.a, cpuWindow.b, cpuWindow.c, cpuWindow.db, cpuWindow.nats].map(pct).join(' / ')],
    ['RSS A / B / C / DB (end)', ['server', 'b', 'c', 'db'].map((n) => mib(sampler.sample()[n]?.rssBytes)).join(' / ')],
    [
      "other processes' CPU during the heartbeat window (noise; the proxy runs in the bench process and counts here)",
      pct(Math.max(0, h.otherCpuPct - [cpuWindow.b, cpuWindow.c, cpuWindow.nats].reduce((x, y) => x + (Number.isFinite(y) ? y : 0), 0))),
    ],
  ];
  const ok = ramp.complete && Number.isFinite(evenAfter) && allApplied && received >= held && !!killed && !killed.problem;
  return {
    exitCode: ok ? 0 : 1,
    summary,
    json: {
      ramp: { ...ramp, shed: rampShed, refusedOverShare: rampRefused },
      scaleOut: { evenAfter, heldBy, share, tolerance, surplus, shed, refused, rejectedSeen: during.rejected, answers: duringAll },
      config: {
        initialS,
        problem: configProblem || undefined,
        onOthersMs: { n: onOthers.length, p50: quantile(onOthers, 0.5), p99: quantile(onOthers, 0.99), max: Math.max(...onOthers), within1s },
        onAMs: { n: onA.length, p50: quantile(onA, 0.5), p99: quantile(onA, 0.99) },
        allAppliedS,
        unplaced,
      },
      heartbeat: { latency: hb, late: h.late, cpu: cpuWindow, otherCpuPct: h.otherCpuPct },
      replicaKilled: killed,
    },
    rows: [
      {
        section: REPLICAS,
        key: runName(args, `heartbeat ${args.heartbeat} s`),
        cells: [
          heldBy.map((n) => num(n)).join(' / '),
          `${Number.isFinite(evenAfter) ? secs(evenAfter) : 'not even'}, ${num(shed)} shed (surplus ${num(surplus)}), ${num(refused)} refused`,
          `${ms(duringAll.p99)} / ${ms(duringAll.max)}`,
          `${ms(quantile(onOthers, 0.5))} / ${ms(quantile(onOthers, 0.99))} / ${ms(Math.max(...onOthers))}`,
          `${ms(quantile(onA, 0.5))} / ${ms(quantile(onA, 0.99))}`,
          allApplied ? secs(allAppliedS) : `not measured: ${configProblem}`,
          `${ms(hb.p50)} / ${ms(hb.p99)} / ${ms(hb.max)}`,
          `${[cpuWindow.a, cpuWindow.b, cpuWindow.c].map(pct).join(' / ')}, ${pct(cpuWindow.db)}, ${pct(cpuWindow.nats)}`,
          killed
            ? `${num(killed.onC)} on C: all had it ${secs(killed.allReceivedS)}, all APPLIED ${killed.problem || secs(killed.allAppliedS)}; ${num(killed.twice)} got it twice`
            : 'not run',
        ],
      },
    ],
  };
}

interface KilledRun {
  /** Agents C held when the change was written. */
  onC: number;
  allReceivedS: number;
  allAppliedS: number;
  /** Agents that lost their connection and came back. */
  reconnected: number;
  /** Agents that received the new revision more than once (once from C, again after reconnecting). */
  twice: number;
  problem: string;
}

/** Agents of the group counted APPLIED or FAILED on its current revision, by the server (GET /api/v1/agentgroups/NAME). */
async function settled(api: ApiClient, group: string): Promise<number> {
  const res = await api.request('GET', `/api/v1/agentgroups/${group}`);
  if (res.status !== 200) return 0;
  const status = (JSON.parse(res.text) as { status?: { config?: { applied?: number; failed?: number } } }).status;
  return (status?.config?.applied ?? 0) + (status?.config?.failed ?? 0);
}

async function changeWithReplicaKilled(
  env: RunEnv,
  p: { a: Replica; c: Replica; proxy: RoundRobinProxy; gen: ReturnType<typeof newGenerator>; ctx: TriggerContext; held: number; backends: Replica[] },
): Promise<KilledRun> {
  const { a, c, gen, ctx, held } = p;
  const onC = [...(await holders(a.api)).values()].filter((r) => r === c.name).length;
  const group = groupName(ctx.runId);
  gen.reset();
  const before = await gen.stats();
  ctx.revision = 3;
  const t0 = Date.now();
  env.log(`changing the config through A (revision 3) and killing ${c.name}, which holds ${num(onC)} agents...`);
  await triggerConfigChange(ctx);
  p.proxy.backends = p.backends.map((r) => r.server.opampPort);
  await c.kill();
  let allReceivedS = NaN;
  let allAppliedS = NaN;
  let lastLog = t0;
  while (Date.now() - t0 < env.args.configTimeout * 1000) {
    if (!Number.isFinite(allReceivedS)) {
      const got = [...(await gen.configTimes()).values()].filter((at) => at >= t0).length;
      if (got >= held) allReceivedS = (Date.now() - t0) / 1000;
    }
    if (Number.isFinite(allReceivedS) && (await settled(a.api, group)) >= held) {
      allAppliedS = (Date.now() - t0) / 1000;
      break;
    }
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      const s = await gen.stats();
      env.log(
        `[replica killed ${((Date.now() - t0) / 1000).toFixed(0)}s] config received ${num(s.configReceived)}, connected ${num(s.established)}, settled ${num(await settled(a.api, group))}/${num(held)}`,
      );
    }
    await sleep(200);
  }
  const s = await gen.stats();
  const unique = [...(await gen.configTimes()).values()].filter((at) => at >= t0).length;
  const problem = Number.isFinite(allAppliedS)
    ? ''
    : `${num(unique)} of ${num(held)} received it, ${num(await settled(a.api, group))} settled within ${env.args.configTimeout} s`;
  const run: KilledRun = {
    onC,
    allReceivedS,
    allAppliedS,
    reconnected: s.establishments - before.establishments,
    twice: Math.max(0, s.configReceived - unique),
    problem,
  };
  env.log(`replica killed: ${JSON.stringify(run)}`);
  return run;
}
