import { newGenerator, probeGrpc, rampUp, RunEnv, sleep, startTarget } from '../fleet-run';
import { cpuPercent } from '../proc-stats';
import { mib, ms, num, pct, ResultsSection, secs } from '../report';
import { dbWorkCell, dbWorkSummary, metricsWindow, scrapeMetrics } from '../server-metrics';
import { Outcome, runName } from './outcome';

export const RECONNECT_STORM: ResultsSection = {
  id: 'reconnect-storm',
  title: 'reconnect-storm',
  about:
    'N agents connected, then every connection dropped at once (the client side closes, as after a network blip); each agent ' +
    'reconnects at once, then with opamp-go-style back-off, honouring Retry-After on 503, and sends its full state again. ' +
    '"All back" = every agent has its first answer on the new connection. DB work = database commands, documents and bytes written during the storm, per 1,000 agent messages the server received.',
  columns: [
    'Run',
    'All back in',
    'All sockets open in',
    'Rejected (503)',
    'Connect errors',
    'First answer p50 / p99',
    'Server CPU (storm)',
    'Server RSS peak',
    'Server settings',
    'DB work / 1k agent msgs',
  ],
};

export async function reconnectStorm(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  if (args.transport === 'http') throw new Error('reconnect-storm needs connections to drop: use --transport ws or grpc');
  const target = await startTarget(env, 'opamp-commander');
  if (args.transport === 'grpc') await probeGrpc(target.port);
  const gen = newGenerator(env, target, args.agents);
  await gen.start();
  env.log(`ramping ${num(args.agents)} ${args.transport} agents at ${num(args.rampRate)}/s...`);
  const ramp = await rampUp(env, target, gen);
  if (!ramp.complete) throw new Error(`the ramp reached only ${ramp.established} of ${args.agents} agents; no storm without a full fleet`);
  await sleep(3000);
  gen.reset();
  const sm0 = target.api ? await scrapeMetrics(target.api) : undefined;
  const p0 = target.sampler.sample();
  const peakBefore = target.sampler.peakRss.server ?? 0;
  const t0 = Date.now();
  env.log(`dropping all ${num(args.agents)} connections...`);
  gen.drop();
  let s = await gen.stats();
  let lastLog = t0;
  while (!(s.establishments >= args.agents && s.established >= args.agents) && Date.now() - t0 < args.stormTimeout * 1000) {
    if (target.dead) throw new Error('the server died during the storm');
    await Promise.race([sleep(250), gen.failed()]);
    s = await gen.stats();
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      env.log(
        `[storm ${((Date.now() - t0) / 1000).toFixed(0)}s] answered ${num(s.established)}/${num(args.agents)} open ${num(s.open)} ` +
          `rejected ${num(s.rejected)} errors ${num(s.connectErrors)} attempts ${num(s.connectAttempts)}`,
      );
    }
  }
  const done = s.establishments >= args.agents && s.established >= args.agents;
  const p1 = target.sampler.sample();
  const db = metricsWindow(sm0, target.api ? await scrapeMetrics(target.api) : undefined);
  const full = await gen.stats(true);
  const allBackS = done ? (full.lastEstablishedAt - t0) / 1000 : NaN;
  const allOpenS = full.lastOpenAt ? (full.lastOpenAt - t0) / 1000 : NaN;
  const first = full.firstAnswer!.summary();
  const cpu = cpuPercent(p0.server, p1.server);
  const peak = Math.max(peakBefore, target.sampler.peakRss.server ?? 0);
  await gen.stop();
  const settings =
    Object.entries(args.serverEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || 'defaults (2000 new/s, Retry-After 30 s)';
  const summary: [string, string][] = [
    ['agents', num(args.agents)],
    ['ramp time', secs(ramp.seconds)],
    ['all reconnected and answered in', done ? secs(allBackS) : `not within ${args.stormTimeout} s (${num(s.established)} back)`],
    ['all sockets open in', secs(allOpenS)],
    ['rejected (503/429) during the storm', num(full.rejected)],
    ['connect errors during the storm', `${num(full.connectErrors)}${full.lastError ? ` (${full.lastError})` : ''}`],
    ['connect attempts during the storm', num(full.connectAttempts)],
    ['first answer after reconnect p50 / p99 / max', `${ms(first.p50)} / ${ms(first.p99)} / ${ms(first.max)}`],
    ['server CPU during the storm', pct(cpu)],
    ['server RSS before / after / peak', `${mib(p0.server?.rssBytes)} / ${mib(p1.server?.rssBytes)} / ${mib(peak)}`],
    ['database CPU during the storm', pct(cpuPercent(p0.db, p1.db))],
    ['ReportFullState asked / error_response', `${num(full.fullStateRequests)} / ${num(full.errorResponses)}`],
    ['server settings', settings],
    ['database work of the storm', dbWorkSummary(db)],
  ];
  const cells = [
    done ? secs(allBackS) : `> ${args.stormTimeout} s (${num(s.established)} back)`,
    secs(allOpenS),
    num(full.rejected),
    num(full.connectErrors),
    `${ms(first.p50)} / ${ms(first.p99)}`,
    pct(cpu),
    mib(peak),
    settings,
    dbWorkCell(db),
  ];
  return {
    exitCode: done ? 0 : 1,
    summary,
    json: {
      ramp,
      storm: {
        done,
        allBackS,
        allOpenS,
        stats: { ...full, latency: undefined, latencyAll: undefined, firstAnswer: first },
        db,
        serverCpuPct: cpu,
        peakRssBytes: peak,
      },
    },
    rows: [{ section: RECONNECT_STORM, key: runName(args), cells }],
  };
}
