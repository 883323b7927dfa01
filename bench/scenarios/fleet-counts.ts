import { storeCopiesOfConnected } from '../agent-seeding';
import { newGenerator, rampUp, RunEnv, sleep, startTarget, Target } from '../fleet-run';
import { Histogram, LatencySummary } from '../histogram';
import { cpuPercent } from '../proc-stats';
import { ms, num, pct, ResultsSection } from '../report';
import { ApiClient } from '../server-process';
import { metricsWindow, scrapeMetrics } from '../server-metrics';
import { dbName, Outcome, today } from './outcome';

export const FLEET_COUNTS: ResultsSection = {
  id: 'fleet-counts',
  title: 'fleet-counts',
  about:
    'N agents connected over WebSocket and heartbeating, STORED − N more stored disconnected (copies of a document the server ' +
    'stored for a connected agent, each with its own uid, host and namespace), and 20 groups selecting them (19 by namespace, one over all of ' +
    'them at a lower priority, so its status also counts who overrides it; no configs, so nothing is pushed during the run). ' +
    'Then REST reads one at a time while the agents heartbeat: `GET /api/v1/agentgroups/NAME` (NAME cycling), `GET ' +
    '/api/v1/agentgroups` (all 20 with status), `GET /api/v1/agents?limit=100`, each series in turn. DB cmds / request = ' +
    "the server's own count of database commands in the series per request, its background work included (sign-in lookups, " +
    'the /metrics scrapes around the series, replica heartbeat, last-seen flushes; its rate with no request, measured in a ' +
    '10 s idle window before, is given in brackets). CPU = server / database during all three series, in % of one CPU.',
  columns: [
    'Run',
    'Stored / connected',
    'GET /agentgroups/NAME p50 / p99',
    'GET /agentgroups p50 / p99',
    'GET /agents?limit=100 p50 / p99',
    'DB cmds / request (NAME, list, agents)',
    'Server / DB CPU',
  ],
};

/** Each series stops after this many requests or SERIES_MS, whichever comes first. */
const SERIES: Record<string, number> = { group: 100, groups: 30, agents: 30 };
const SERIES_MS = 120_000;
const GROUPS = 20;

interface Series {
  latency: LatencySummary;
  requests: number;
  commandsPerRequest?: number;
  seconds: number;
  /** A request that got no answer within the client's 120 s (the series stops there). */
  failure?: string;
}

/** One request after the other; database commands per request as the server counts them (its background work included). */
async function series(api: ApiClient, n: number, path: (i: number) => string): Promise<Series> {
  const h = new Histogram();
  const m0 = await scrapeMetrics(api);
  const t0 = Date.now();
  let i = 0;
  let failure: string | undefined;
  for (; i < n && Date.now() - t0 < SERIES_MS; i++) {
    await api.headers();
    const t = process.hrtime.bigint();
    let problem: string | undefined;
    try {
      const r = await api.request('GET', path(i));
      if (r.status !== 200) problem = `answered ${r.status}${r.status === 503 ? ' (database deadline)' : ''}`;
    } catch (err) {
      if (!/timed out/.test((err as Error).message)) throw err;
      problem = 'no answer within 120 s';
    }
    if (problem) {
      failure = `request ${i + 1} ${problem}`;
      h.record(Number(process.hrtime.bigint() - t) / 1e6);
      i++;
      break;
    }
    h.record(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const seconds = (Date.now() - t0) / 1000;
  const w = metricsWindow(m0, await scrapeMetrics(api));
  return {
    latency: h.summary(),
    requests: i,
    seconds,
    failure,
    commandsPerRequest: w?.dbCommands === undefined ? undefined : w.dbCommands / Math.max(1, i),
  };
}

/** Connects `agents` WebSocket agents with the bench's load generator and waits for every first answer. */
async function connect(env: RunEnv, target: Target, agents: number) {
  const gen = newGenerator(env, target, agents);
  await gen.start();
  env.log(`connecting ${num(agents)} ws agents at ${num(env.args.rampRate)}/s...`);
  const ramp = await rampUp(env, target, gen);
  return { gen, ramp };
}

export async function fleetCounts(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  const connected = args.agents;
  const stored = Math.max(args.stored ?? 2 * connected, connected);
  const target = await startTarget(env, 'opamp-commander');
  const api = new ApiClient(target.server.apiPort!, 'admin', target.server.adminPassword);
  // Groups first, so that the agents connect into them (nothing to push: the groups carry no config).
  for (let g = 0; g < GROUPS - 1; g++) {
    const ns = [g, g + 19, g + 38].filter((x) => x < 50).map((x) => `ns-${x}`);
    const r = await api.request('POST', '/api/v1/agentgroups', {
      metadata: { name: `ns-group-${g}` },
      spec: { selector: `k8s.namespace.name in (${ns.join(',')})`, priority: 10 },
    });
    if (r.status !== 201) throw new Error(`POST /agentgroups answered ${r.status}: ${r.text.slice(0, 300)}`);
  }
  const all = await api.request('POST', '/api/v1/agentgroups', {
    metadata: { name: 'all-collectors' },
    spec: { selector: 'service.name=otelcol-contrib', priority: 0 },
  });
  if (all.status !== 201) throw new Error(`POST /agentgroups answered ${all.status}: ${all.text.slice(0, 300)}`);

  const held = await connect(env, target, connected);
  env.log(`${num(held.ramp.established)} agents connected (first answer p99 ${ms(held.ramp.firstAnswer.p99)}); settling 20 s...`);
  await sleep(20_000);
  // The disconnected part of the fleet: copies of a document the server stored for a connected
  // agent (its exact shape), each with a uid, host and namespace of its own and disconnected.
  // Inserted rather than connected and dropped: on FerretDB a thousand disconnections at once
  // are a thousand guarded updates (uid and connection id), each of which reads the whole collection.
  if (stored > connected) await storeCopiesOfConnected(env, target.db!.uri, stored - connected, connected);
  env.log('settling 30 s...');
  await sleep(30_000);

  // Warm-up (sign-in, route compilation), not measured.
  await api.request('GET', '/api/v1/agentgroups/ns-group-0');
  const idle0 = await scrapeMetrics(api);
  await sleep(10_000);
  const idle = metricsWindow(idle0, await scrapeMetrics(api));
  const bgPerSec = (idle?.dbCommands ?? 0) / 10;
  env.log(`background: ${bgPerSec.toFixed(1)} database commands/s with no request`);
  const p0 = target.sampler.sample();
  env.log('GET /agentgroups/NAME series...');
  const group = await series(api, SERIES.group, (i) => `/api/v1/agentgroups/ns-group-${i % (GROUPS - 1)}`);
  env.log(`  p50 ${ms(group.latency.p50)} p99 ${ms(group.latency.p99)}; ${group.commandsPerRequest?.toFixed(1)} cmds/request`);
  env.log('GET /agentgroups series...');
  const groups = await series(api, SERIES.groups, () => `/api/v1/agentgroups?limit=${GROUPS}`);
  env.log(`  p50 ${ms(groups.latency.p50)} p99 ${ms(groups.latency.p99)}; ${groups.commandsPerRequest?.toFixed(1)} cmds/request`);
  env.log('GET /agents?limit=100 series...');
  const agents = await series(api, SERIES.agents, () => '/api/v1/agents?limit=100');
  env.log(`  p50 ${ms(agents.latency.p50)} p99 ${ms(agents.latency.p99)}; ${agents.commandsPerRequest?.toFixed(1)} cmds/request`);
  const p1 = target.sampler.sample();
  const serverCpu = cpuPercent(p0.server, p1.server);
  const dbCpu = cpuPercent(p0.db, p1.db);
  await held.gen.stop();
  api.close();

  const lat = (s: Series) => `${ms(s.latency.p50)} / ${ms(s.latency.p99)}${s.failure ? ` (${s.failure})` : ''}`;
  const cmds = (s: Series) => (s.commandsPerRequest === undefined ? 'n/a' : s.commandsPerRequest.toFixed(1));
  const summary: [string, string][] = [
    ['agents stored / connected', `${num(stored)} / ${num(held.ramp.established)} of ${num(connected)}`],
    ['connect: first answer p50 / p99', `${ms(held.ramp.firstAnswer.p50)} / ${ms(held.ramp.firstAnswer.p99)}`],
    [`GET /agentgroups/NAME (x${group.requests}, ${group.seconds.toFixed(0)} s) p50 / p99 / max`, `${lat(group)} / ${ms(group.latency.max)}`],
    [`GET /agentgroups (x${groups.requests}, ${groups.seconds.toFixed(0)} s) p50 / p99 / max`, `${lat(groups)} / ${ms(groups.latency.max)}`],
    [`GET /agents?limit=100 (x${agents.requests}, ${agents.seconds.toFixed(0)} s) p50 / p99 / max`, `${lat(agents)} / ${ms(agents.latency.max)}`],
    ['database commands per request (NAME / list / agents)', `${cmds(group)} / ${cmds(groups)} / ${cmds(agents)}`],
    ['server / database CPU during the series', `${pct(serverCpu)} / ${pct(dbCpu)} of one CPU`],
    ['background database commands (idle window, included in the per-request figures)', `${bgPerSec.toFixed(1)} per s`],
  ];
  return {
    exitCode: group.failure || groups.failure || agents.failure ? 1 : 0,
    summary,
    json: {
      stored,
      connected: held.ramp.established,
      ramp: held.ramp,
      group,
      groups,
      agents,
      backgroundCommandsPerSec: bgPerSec,
      cpuPct: { server: serverCpu, db: dbCpu },
      date: today(),
    },
    rows: [
      {
        section: FLEET_COUNTS,
        key: `${num(stored)} stored, ${num(connected)} ws connected, ${GROUPS} groups, ${dbName(args)}${args.label ? ` (${args.label})` : ''}`,
        cells: [
          `${num(stored)} / ${num(held.ramp.established)}`,
          `${lat(group)} (x${group.requests})`,
          `${lat(groups)} (x${groups.requests})`,
          `${lat(agents)} (x${agents.requests})`,
          `${cmds(group)}, ${cmds(groups)}, ${cmds(agents)} (background ${bgPerSec.toFixed(1)}/s)`,
          `${pct(serverCpu)} / ${pct(dbCpu)}`,
        ],
      },
    ],
  };
}
