import { hold, HoldResult, newGenerator, RampResult, rampUp, RunEnv, sleep, startTarget } from '../fleet-run';
import type { LatencySummary } from '../histogram';
import { OTLP_STATUS_NAMES } from '../load-protocol';
import { readProc } from '../proc-stats';
import { kib, mib, ms, num, pct, ResultsSection, secs } from '../report';
import { ApiClient } from '../server-process';
import { dbWorkCell, parseMetrics } from '../server-metrics';
import { fleetSummary } from './connect-hold';
import { Outcome, runName } from './outcome';

export const OWN_TELEMETRY: ResultsSection = {
  id: 'own-telemetry',
  title: 'own-telemetry',
  about:
    'N agents connected over ws and heartbeating; a window without own metrics, then (after one export interval to create every window) ' +
    'a window of the same length with every agent POSTing its own metrics (OTLP/HTTP on the OpAMP port, 19 data points: ' +
    'accepted/refused and sent/failed per signal, queue size/capacity, process CPU/RSS/uptime, two ignored runtime gauges) every 15 s, spread evenly. ' +
    'Same server process, same connections: "added" is the difference of the two windows. Memory per window = (RSS on − RSS off) / opamp_telemetry_windows ' +
    "(in brackets: the same for the V8 heap used). DB commands = the server's mongodb_commands_total during each window.",
  columns: [
    'Run',
    'Held',
    'Heartbeat p50 / p99 off → on',
    'OTLP POSTs/s, p50 / p99, statuses',
    'Server CPU off → on (added)',
    'DB CPU off → on',
    'Server RSS off → on',
    'Windows, memory / window',
    'DB commands off / on (by command)',
    'Window',
  ],
};

interface TelemetryScrape {
  windows?: number;
  requests: Record<string, number>;
  points: Record<string, number>;
  commands: Record<string, number>;
  heapUsedBytes?: number;
}

async function scrapeTelemetry(api: ApiClient | undefined): Promise<TelemetryScrape | undefined> {
  if (!api) return undefined;
  const r = await api.request('GET', '/metrics').catch(() => undefined);
  if (!r || r.status !== 200) return undefined;
  const out: TelemetryScrape = { requests: {}, points: {}, commands: {} };
  const label = (labels: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(labels)?.[1] ?? '';
  for (const s of parseMetrics(r.text)) {
    if (s.name === 'opamp_telemetry_windows') out.windows = (out.windows ?? 0) + s.value;
    else if (s.name === 'opamp_telemetry_requests_total') out.requests[label(s.labels, 'status')] = s.value;
    else if (s.name === 'opamp_telemetry_data_points_total') out.points[label(s.labels, 'outcome')] = s.value;
    else if (s.name === 'mongodb_commands_total') out.commands[label(s.labels, 'command')] = s.value;
    else if (s.name === 'nodejs_heap_size_used_bytes') out.heapUsedBytes = s.value;
  }
  return out;
}

/** Counter differences b − a, only those that moved. */
function diff(a: Record<string, number> | undefined, b: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b ?? {})) {
    const d = v - (a?.[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

const byCommand = (d: Record<string, number>) => {
  const total = Object.values(d).reduce((x, y) => x + y, 0);
  const parts = Object.entries(d)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${num(v)}`);
  return `${num(total)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
};

export interface OwnTelemetryRun {
  agents: number;
  idleRssBytes: number;
  held: number;
  ramp: RampResult;
  off: HoldResult;
  on: HoldResult;
  otlp: {
    seconds: number;
    sent: number;
    answered: number;
    perSec: number;
    byStatus: Record<string, number>;
    points: number;
    rejectedPoints: number;
    meanBodyBytes: number;
    latency: LatencySummary;
  };
  windows?: number;
  rssPerWindowBytes: number;
  heapPerWindowBytes: number;
  heapOffBytes?: number;
  heapOnBytes?: number;
  dbCommandsOff: Record<string, number>;
  dbCommandsOn: Record<string, number>;
  serverTelemetryRequests: Record<string, number>;
  serverDataPoints: Record<string, number>;
}

export async function ownTelemetry(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  if (args.transport !== 'ws') env.log('own-telemetry runs its agents over ws');
  const target = await startTarget(env, 'opamp-commander');
  let run: OwnTelemetryRun;
  try {
    await sleep(2000);
    const idle = readProc(target.server.pid);
    const gen = newGenerator(env, target, args.agents);
    await gen.start();
    env.log(`ramping ${num(args.agents)} ws agents at ${num(args.rampRate)}/s (${gen.cfg.workers} generator processes)...`);
    const ramp = await rampUp(env, target, gen);
    await sleep(2000);

    env.log(`window 1 of 2: ${args.duration} s without own metrics`);
    const c0 = await scrapeTelemetry(target.api);
    const off = await hold(env, target, gen, args.duration);
    const c1 = await scrapeTelemetry(target.api);

    env.log(`own metrics on: every agent every ${args.metricsInterval} s (${args.otlpEncoding}); one interval to create the windows...`);
    gen.ownMetrics(true);
    await sleep(args.metricsInterval * 1000 + 3000);
    const w = await gen.stats();
    env.log(
      `warm-up: ${num(w.otlpSent)} exports, statuses ${OTLP_STATUS_NAMES.map((n, i) => (w.otlpByStatus[i] ? `${n}: ${num(w.otlpByStatus[i])}` : ''))
        .filter(Boolean)
        .join(', ')}`,
    );

    env.log(`window 2 of 2: ${args.duration} s with own metrics`);
    const c2 = await scrapeTelemetry(target.api);
    const t2 = Date.now();
    const on = await hold(env, target, gen, args.duration);
    const s = await gen.stats(true);
    const otlpSeconds = (Date.now() - t2) / 1000;
    const c3 = await scrapeTelemetry(target.api);
    gen.ownMetrics(false);
    await gen.stop();

    const byStatus: Record<string, number> = {};
    OTLP_STATUS_NAMES.forEach((n, i) => {
      if (s.otlpByStatus[i]) byStatus[n] = s.otlpByStatus[i];
    });
    const windows = c3?.windows;
    run = {
      agents: args.agents,
      idleRssBytes: idle?.rssBytes ?? NaN,
      held: on.held,
      ramp,
      off,
      on,
      otlp: {
        seconds: otlpSeconds,
        sent: s.otlpSent,
        answered: s.otlpAnswered,
        perSec: s.otlpSent / otlpSeconds,
        byStatus,
        points: s.otlpPoints,
        rejectedPoints: s.otlpRejectedPoints,
        meanBodyBytes: s.otlpBytes / Math.max(1, s.otlpSent),
        latency: s.otlpLatency!.summary(),
      },
      windows,
      rssPerWindowBytes: (on.server.rssBytes - off.server.rssBytes) / Math.max(1, windows ?? 0),
      heapPerWindowBytes: ((c3?.heapUsedBytes ?? NaN) - (c1?.heapUsedBytes ?? NaN)) / Math.max(1, windows ?? 0),
      heapOffBytes: c1?.heapUsedBytes,
      heapOnBytes: c3?.heapUsedBytes,
      dbCommandsOff: diff(c0?.commands, c1?.commands),
      dbCommandsOn: diff(c2?.commands, c3?.commands),
      serverTelemetryRequests: diff(c2?.requests, c3?.requests),
      serverDataPoints: diff(c2?.points, c3?.points),
    };
  } finally {
    await target.stop();
    await target.db?.stop();
  }

  const { off, on, otlp } = run;
  const statuses = Object.entries(otlp.byStatus)
    .map(([k, v]) => `${k}: ${num(v)}`)
    .join(', ');
  const cells = [
    `${num(run.held)} / ${num(run.agents)}`,
    `${ms(off.latency.heartbeat.p50)} / ${ms(off.latency.heartbeat.p99)} → ${ms(on.latency.heartbeat.p50)} / ${ms(on.latency.heartbeat.p99)}`,
    `${num(otlp.perSec, 1)}, ${ms(otlp.latency.p50)} / ${ms(otlp.latency.p99)}, ${statuses || 'none'}${otlp.rejectedPoints ? `, ${num(otlp.rejectedPoints)} points refused` : ''}`,
    `${pct(off.server.cpuPct)} → ${pct(on.server.cpuPct)} (+${pct(on.server.cpuPct - off.server.cpuPct)})`,
    off.db && on.db ? `${pct(off.db.cpuPct)} → ${pct(on.db.cpuPct)}` : 'n/a',
    `${mib(off.server.rssBytes)} → ${mib(on.server.rssBytes)}`,
    `${num(run.windows)}, ${kib(run.rssPerWindowBytes)} (heap ${kib(run.heapPerWindowBytes)})`,
    `${byCommand(run.dbCommandsOff)} / ${byCommand(run.dbCommandsOn)}`,
    `${secs(on.seconds)}${Math.max(off.otherCpuPct, on.otherCpuPct) >= 10 ? ` (other processes: ${pct(off.otherCpuPct)} / ${pct(on.otherCpuPct)} CPU)` : ''}`,
  ];
  const summary: [string, string][] = [
    ['agents held (window with own metrics)', `${num(run.held)} / ${num(run.agents)}`],
    ['ramp', `${secs(run.ramp.seconds)}${run.ramp.complete ? '' : ' (incomplete)'}`],
    ['heartbeat answer p50 / p99 / max, off', `${ms(off.latency.heartbeat.p50)} / ${ms(off.latency.heartbeat.p99)} / ${ms(off.latency.heartbeat.max)}`],
    ['heartbeat answer p50 / p99 / max, on', `${ms(on.latency.heartbeat.p50)} / ${ms(on.latency.heartbeat.p99)} / ${ms(on.latency.heartbeat.max)}`],
    ['OTLP POSTs sent / answered / per s', `${num(otlp.sent)} / ${num(otlp.answered)} / ${num(otlp.perSec, 1)} (over ${secs(otlp.seconds)})`],
    ['OTLP answer p50 / p99 / max', `${ms(otlp.latency.p50)} / ${ms(otlp.latency.p99)} / ${ms(otlp.latency.max)}`],
    ['OTLP answers by status', statuses || 'none'],
    ['OTLP data points sent / refused (partial_success)', `${num(otlp.points)} / ${num(otlp.rejectedPoints)}`],
    ['OTLP mean body', `${num(otlp.meanBodyBytes)} bytes (${args.otlpEncoding})`],
    ['server: telemetry requests by status (window)', JSON.stringify(run.serverTelemetryRequests)],
    ['server: data points by outcome (window)', JSON.stringify(run.serverDataPoints)],
    ['server CPU off / on / added', `${pct(off.server.cpuPct)} / ${pct(on.server.cpuPct)} / ${pct(on.server.cpuPct - off.server.cpuPct)}`],
    ['database CPU off / on', off.db && on.db ? `${pct(off.db.cpuPct)} / ${pct(on.db.cpuPct)}` : 'n/a'],
    [
      'server RSS idle / off / on / added',
      `${mib(run.idleRssBytes)} / ${mib(off.server.rssBytes)} / ${mib(on.server.rssBytes)} / ${mib(on.server.rssBytes - off.server.rssBytes)}`,
    ],
    ['server heap used off / on', `${mib(run.heapOffBytes)} / ${mib(run.heapOnBytes)}`],
    ['opamp_telemetry_windows', num(run.windows)],
    ['memory per window: RSS / heap', `${kib(run.rssPerWindowBytes)} / ${kib(run.heapPerWindowBytes)}`],
    ['DB commands, window off', byCommand(run.dbCommandsOff)],
    ['DB commands, window on', byCommand(run.dbCommandsOn)],
    ['DB work / 1k agent msgs off / on', `${dbWorkCell(off.serverMetrics)} / ${dbWorkCell(on.serverMetrics)}`],
    ['generator CPU off / on', `${pct(off.generator.cpuPct)} / ${pct(on.generator.cpuPct)}`],
    ["other processes' CPU off / on (noise)", `${pct(off.otherCpuPct)} / ${pct(on.otherCpuPct)}`],
    ...fleetSummary('on: ', {
      target: 'opamp-commander',
      agents: run.agents,
      idleRssBytes: run.idleRssBytes,
      ramp: run.ramp,
      hold: on,
      rssPerAgentBytes: NaN,
      rssPerAgentIncrementBytes: NaN,
    }).filter(([k]) => !k.includes('ramp') && !k.includes('RSS per agent') && !k.includes('ReportFullState')),
  ];
  const ok = run.ramp.complete && otlp.answered > 0 && (otlp.byStatus['200'] ?? 0) === otlp.answered;
  return {
    exitCode: ok ? 0 : 1,
    summary,
    json: { run },
    rows: [
      {
        section: OWN_TELEMETRY,
        key: runName({ ...args, transport: 'ws' }, `own metrics every ${args.metricsInterval} s (${args.otlpEncoding})`, `heartbeat ${args.heartbeat} s`),
        cells,
      },
    ],
  };
}
