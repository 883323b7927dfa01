import * as http from 'node:http';
import { newUuidV7 } from '../../src/protocol/instance-uid';
import { insertViaMongo } from '../agent-seeding';
import { buildSharedParts, descriptionField, uidField } from '../fleet-messages';
import { RunEnv, sleep, startTarget } from '../fleet-run';
import { cpuPercent, machineCpuSeconds } from '../proc-stats';
import { Histogram, LatencySummary } from '../histogram';
import { retryAfterMs } from '../load-protocol';
import { kib, mib, ms, num, pct, ResultsSection, secs } from '../report';
import { ApiClient } from '../server-process';
import { assemble } from '../wire';
import { metricsWindow, scrapeMetrics, ServerMetrics } from '../server-metrics';
import { dbName, Outcome, today } from './outcome';

export const API_LIST: ResultsSection = {
  id: 'api-list',
  title: 'api-list',
  about:
    'N agents stored (each with description, labels, health tree and ~8 KB effective config, as the OpAMP path stores them, selector terms ' +
    'included), then REST reads one request at a time: every page of `GET /api/v1/agents?limit=L[&selector=…]` following `continue`, the ' +
    "first page repeated, and single agents. CPU is the server's and the database's during the page walk, in % of one CPU. " +
    "DB work = database commands per page of the walk (sign-in lookups included), from the server's own count.",
  columns: [
    'Run',
    'Stored',
    'Insert',
    'Pages walked',
    'Page p50 / p99 / max',
    'Page size on the wire',
    'First page p50 / p99',
    'GET one p50 / p99',
    'Server / DB CPU in walk',
    'DB work / page',
  ],
};

/** The longest the page walk may take; the pages walked by then are reported. */
const WALK_BUDGET_MS = 600_000;

/** Each agent's first message over plain HTTP: the real ingest path, one upsert per agent. */
async function insertViaOpamp(env: RunEnv, opampPort: number, total: number): Promise<{ inserted: number; seconds: number; stoppedEarly: boolean }> {
  const shared = buildSharedParts(env.args.configBytes);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const t0 = Date.now();
  let next = 0;
  let inserted = 0;
  let lastLog = t0;
  const post = (body: Buffer) =>
    new Promise<{ status: number; retry?: number }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: opampPort,
          path: '/v1/opamp',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retry: retryAfterMs(res.headers['retry-after']) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const lane = async () => {
    while (next < total && Date.now() - t0 < env.args.insertTimeout * 1000) {
      const i = next++;
      const uid = newUuidV7();
      const body = assemble(
        false,
        [uidField(uid), descriptionField(i, uid, env.runId), shared.capabilities, shared.healthy, shared.effectiveConfig, shared.unsetRemoteConfigStatus],
        0,
      );
      for (let attempt = 0; attempt < 20; attempt++) {
        const r = await post(body);
        if (r.status === 200) {
          inserted++;
          break;
        }
        if (r.status !== 503 && r.status !== 429) throw new Error(`POST /v1/opamp answered ${r.status}`);
        await sleep(r.retry ?? 1000);
      }
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        const el = (Date.now() - t0) / 1000;
        env.log(`[insert ${el.toFixed(0)}s] ${num(inserted)} / ${num(total)} agents (${num(inserted / el)}/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
  agent.destroy();
  return { inserted, seconds: (Date.now() - t0) / 1000, stoppedEarly: inserted < total };
}

interface Timed {
  ms: number;
  status: number;
  bytes: number;
  json?: { metadata?: { continue?: string }; items?: { metadata: { instanceUid: string } }[] };
}

async function timedGet(client: ApiClient, pathname: string): Promise<Timed> {
  await client.headers();
  const t = process.hrtime.bigint();
  const r = await client.request('GET', pathname);
  const took = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 200) throw new Error(`GET ${pathname} answered ${r.status}: ${r.text.slice(0, 300)}`);
  return { ms: took, status: r.status, bytes: Buffer.byteLength(r.text), json: JSON.parse(r.text) };
}

export async function apiList(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  const target = await startTarget(env, 'opamp-commander');
  const total = args.agents;
  env.log(`storing ${num(total)} agents (${args.insertVia === 'mongo' ? 'straight into the database' : 'as OpAMP HTTP agents'})...`);
  const ins = args.insertVia === 'mongo' ? await insertViaMongo(env, target.db!.uri, total) : await insertViaOpamp(env, target.port, total);
  env.log(
    `stored ${num(ins.inserted)} agents in ${secs(ins.seconds)} (${num(ins.inserted / ins.seconds)}/s)${ins.stoppedEarly ? ` -- stopped at --insert-timeout ${args.insertTimeout} s` : ''}`,
  );

  const api = new ApiClient(target.server.apiPort!, 'admin', target.server.adminPassword);
  const extra = args.listQuery ? `&${args.listQuery}` : '';
  const pages = new Histogram();
  const pageBytes: number[] = [];
  const seen = new Set<string>();
  const first = new Histogram();
  const one = new Histogram();
  const maxPages = args.pages ?? Math.ceil(ins.inserted / args.pageSize) + 1;
  let walked = 0;
  let complete = false;
  let walkS = 0;
  /** CPU during the walk (% of one CPU): server, database, and every other process of the machine but this one (noise). */
  let cpu: { server: number; db: number; other: number } | undefined;
  /** Set when a request did not answer within the client's 120 s: that is the result then. */
  let failure: string | undefined;
  /** The server's database work during the walk. */
  let dbWork: ServerMetrics | undefined;
  try {
    // Warm-up (sign-in, route compilation, first query plan), not measured.
    await timedGet(api, `/api/v1/agents?limit=${args.pageSize}${extra}`);
    const sm0 = await scrapeMetrics(api);
    const w0 = Date.now();
    const p0 = target.sampler.sample();
    const m0 = machineCpuSeconds();
    const c0 = process.cpuUsage();
    let token: string | undefined;
    let lastLog = w0;
    while (walked < maxPages && Date.now() - w0 < WALK_BUDGET_MS) {
      const r = await timedGet(api, `/api/v1/agents?limit=${args.pageSize}${extra}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      pages.record(r.ms);
      pageBytes.push(r.bytes);
      for (const it of r.json?.items ?? []) seen.add(it.metadata.instanceUid);
      walked++;
      token = r.json?.metadata?.continue;
      if (!token) {
        complete = true;
        break;
      }
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        const s = pages.summary();
        env.log(`[walk ${((Date.now() - w0) / 1000).toFixed(0)}s] ${num(walked)} pages, ${num(seen.size)} agents; p50 ${ms(s.p50)} p99 ${ms(s.p99)}`);
      }
    }
    walkS = (Date.now() - w0) / 1000;
    dbWork = metricsWindow(sm0, await scrapeMetrics(api));
    const p1 = target.sampler.sample();
    const server = cpuPercent(p0.server, p1.server);
    const db = cpuPercent(p0.db, p1.db);
    const c1 = process.cpuUsage(c0);
    const mine = ((c1.user + c1.system) / 1e6 / walkS) * 100;
    const other = Math.max(0, ((machineCpuSeconds() - m0) / walkS) * 100 - server - (Number.isFinite(db) ? db : 0) - mine);
    cpu = { server, db, other };
    if (other > 20) env.log(`!! other processes used ${pct(other)} of a CPU during the walk: figures are disturbed`);

    // Each of these two series stops after 30 requests/200 requests or 120 s, whichever comes first.
    const f0 = Date.now();
    for (let i = 0; i < 30 && Date.now() - f0 < 120_000; i++) first.record((await timedGet(api, `/api/v1/agents?limit=${args.pageSize}${extra}`)).ms);
    const ids = [...seen];
    const o0 = Date.now();
    for (let i = 0; i < Math.min(200, ids.length) && Date.now() - o0 < 120_000; i++) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      one.record((await timedGet(api, `/api/v1/agents/${id}`)).ms);
    }
  } catch (err) {
    if (!/timed out/.test((err as Error).message)) throw err;
    failure = `${(err as Error).message.replace(/\?.*? timed/, ' timed')} (no answer within 120 s)`;
    env.log(`!! ${failure}`);
  }
  api.close();
  await sleep(100);

  const ps: LatencySummary = pages.summary();
  const fs1 = first.summary();
  const os1 = one.summary();
  const avgPage = pageBytes.reduce((a, b) => a + b, 0) / Math.max(1, pageBytes.length);
  const walkNote = failure
    ? `${num(walked)}: ${failure}`
    : complete
      ? `all ${num(walked)}${args.listQuery ? ' matching' : ''} (${secs(walkS)})`
      : `${num(walked)} of ${num(Math.ceil(ins.inserted / args.pageSize))} in ${secs(walkS)} (budget)`;
  const summary: [string, string][] = [
    ['agents stored', `${num(ins.inserted)}${ins.stoppedEarly ? ` of ${num(total)} (stopped at --insert-timeout)` : ''}`],
    ['insert time / rate', `${secs(ins.seconds)} / ${num(ins.inserted / ins.seconds)} per s (${args.insertVia})`],
    ['pages walked', walkNote],
    ['agents seen in the walk', num(seen.size)],
    ['page p50 / p99 / max', `${ms(ps.p50)} / ${ms(ps.p99)} / ${ms(ps.max)}`],
    ['page size on the wire', `${kib(avgPage)} for ${args.pageSize} agents`],
    [`first page (x${fs1.count}) p50 / p99`, `${ms(fs1.p50)} / ${ms(fs1.p99)}`],
    [`GET one agent (x${os1.count}) p50 / p99`, `${ms(os1.p50)} / ${ms(os1.p99)}`],
    ['server / database CPU in the walk', `${pct(cpu?.server)} / ${pct(cpu?.db)} of one CPU (other processes: ${pct(cpu?.other)})`],
    [
      'database commands per page (walk)',
      dbWork?.dbCommands === undefined ? 'n/a' : `${(dbWork.dbCommands / Math.max(1, walked)).toFixed(1)} (${num(dbWork.dbCommands)} for ${num(walked)} pages)`,
    ],
    ['server RSS peak', mib(target.sampler.peakRss.server)],
    ['database RSS peak', mib(target.sampler.peakRss.db)],
  ];
  const cells = [
    num(ins.inserted),
    `${secs(ins.seconds)} (${num(ins.inserted / ins.seconds)}/s, ${args.insertVia})`,
    walkNote,
    `${ms(ps.p50)} / ${ms(ps.p99)} / ${ms(ps.max)}`,
    kib(avgPage),
    `${ms(fs1.p50)} / ${ms(fs1.p99)}`,
    `${ms(os1.p50)} / ${ms(os1.p99)}`,
    `${pct(cpu?.server)} / ${pct(cpu?.db)}${cpu && cpu.other >= 10 ? ` (other processes: ${pct(cpu.other)})` : ''}`,
    dbWork?.dbCommands === undefined ? 'n/a' : `${(dbWork.dbCommands / Math.max(1, walked)).toFixed(1)} cmds`,
  ];
  return {
    exitCode: failure ? 1 : 0,
    summary,
    json: {
      insert: ins,
      walk: { pages: walked, complete, seconds: walkS, latency: ps, avgPageBytes: avgPage, agentsSeen: seen.size, failure, cpuPct: cpu, db: dbWork },
      firstPage: fs1,
      getOne: os1,
      date: today(),
    },
    rows: [
      {
        section: API_LIST,
        key: `${num(total)} agents, page ${args.pageSize}${args.listQuery ? `, ${decodeURIComponent(args.listQuery)}` : ''}, insert via ${args.insertVia}, ${dbName(args)}${args.label ? ` (${args.label})` : ''}`,
        cells,
      },
    ],
  };
}
