import { FleetRun, RunEnv, runFleet } from '../fleet-run';
import { kib, mib, ms, num, pct, ratio, ResultsSection, secs } from '../report';
import { dbWorkCell, dbWorkSummary } from '../server-metrics';
import { Outcome, runName } from './outcome';

export const CONNECT_HOLD: ResultsSection = {
  id: 'connect-hold',
  title: 'connect-hold',
  about:
    'Ramp to N agents (first message: description, health tree, ~8 KB effective config), then hold them heartbeating. ' +
    'RSS per agent = server RSS after the hold / agents held (in brackets: growth over the idle server / agents held). ' +
    'Latency = all messages answered during the hold (heartbeats), measured by the agents. ' +
    "DB work = the server's own count of database commands, documents written and bytes written during the hold, per 1,000 agent messages it received.",
  columns: [
    'Run',
    'Held / target',
    'Ramp (first answer p99)',
    'Rejected',
    'Server RSS (peak)',
    'RSS / agent',
    'Server CPU',
    'DB RSS, CPU',
    'msgs/s',
    'p50 / p99 / max',
    'All answered ≤ 1 s',
    'Hold',
    'DB work / 1k agent msgs',
  ],
};

export const BASELINE: ResultsSection = {
  id: 'baseline',
  title: 'Ratio to a bare ws server',
  about:
    'The same load against `bench/echo-server.ts` (the `ws` library alone, answering every binary frame with a small frame), ' +
    'in the same run. Cells: OpAMP Commander / bare ws (ratio). CPU is of the server process alone (the database is extra, see the tables above).',
  columns: ['Run', 'Server RSS', 'RSS growth / agent', 'Server CPU', 'msgs/s', 'p50', 'p99'],
};

export function holdCells(r: FleetRun): string[] {
  const h = r.hold;
  return [
    `${num(h.held)} / ${num(r.agents)}`,
    `${secs(r.ramp.seconds)} (${ms(r.ramp.firstAnswer.p99)})`,
    num(r.ramp.rejected + h.rejected),
    `${mib(h.server.rssBytes)} (${mib(h.server.peakRssBytes)})`,
    `${kib(r.rssPerAgentBytes)} (${kib(r.rssPerAgentIncrementBytes)})`,
    pct(h.server.cpuPct),
    h.db ? `${mib(h.db.rssBytes)}, ${pct(h.db.cpuPct)}` : 'n/a',
    num(h.sentPerSec, 1),
    `${ms(h.latency.all.p50)} / ${ms(h.latency.all.p99)} / ${ms(h.latency.all.max)}`,
    h.allAnsweredInTime ? 'yes' : `no (late ${num(h.late)}, unanswered ${num(h.lostPending + h.pendingLate)})`,
    `${secs(h.seconds)}${h.otherCpuPct >= 10 ? ` (other processes: ${pct(h.otherCpuPct)} CPU)` : ''}`,
    dbWorkCell(h.serverMetrics),
  ];
}

export function fleetSummary(prefix: string, r: FleetRun): [string, string][] {
  const h = r.hold;
  return [
    [`${prefix}agents held / target`, `${num(h.held)} / ${num(r.agents)}`],
    [`${prefix}ramp time`, `${secs(r.ramp.seconds)}${r.ramp.complete ? '' : ' (incomplete)'}`],
    [`${prefix}ramp: connect -> first answer p50 / p99`, `${ms(r.ramp.firstAnswer.p50)} / ${ms(r.ramp.firstAnswer.p99)}`],
    [`${prefix}ramp: first message -> answer p50 / p99`, `${ms(r.ramp.fullAnswer.p50)} / ${ms(r.ramp.fullAnswer.p99)}`],
    [`${prefix}rejected (503/429) ramp / hold`, `${num(r.ramp.rejected)} / ${num(h.rejected)}`],
    [`${prefix}connect errors (ramp)`, `${num(r.ramp.connectErrors)}${r.ramp.lastError ? ` (${r.ramp.lastError})` : ''}`],
    [`${prefix}server RSS idle / end / peak`, `${mib(r.idleRssBytes)} / ${mib(h.server.rssBytes)} / ${mib(h.server.peakRssBytes)}`],
    [`${prefix}RSS per agent (growth per agent)`, `${kib(r.rssPerAgentBytes)} (${kib(r.rssPerAgentIncrementBytes)})`],
    [`${prefix}server CPU (hold)`, pct(h.server.cpuPct)],
    [`${prefix}server open fds`, num(h.server.fds)],
    [`${prefix}database RSS / CPU`, h.db ? `${mib(h.db.rssBytes)} / ${pct(h.db.cpuPct)}` : 'n/a'],
    [`${prefix}generator CPU / RSS`, `${pct(h.generator.cpuPct)} / ${mib(h.generator.rssBytes)}`],
    [`${prefix}other processes' CPU (noise)`, pct(h.otherCpuPct)],
    [`${prefix}messages sent / answered per s`, `${num(h.sentPerSec, 1)} / ${num(h.answersPerSec, 1)}`],
    [`${prefix}answer p50 / p99 / max`, `${ms(h.latency.all.p50)} / ${ms(h.latency.all.p99)} / ${ms(h.latency.all.max)}`],
    [
      `${prefix}late (> deadline) / unanswered`,
      `${num(h.late)} / ${num(h.lostPending)} lost with their connection, ${num(h.pendingLate)} still pending past the deadline`,
    ],
    [`${prefix}every message answered in time`, h.allAnsweredInTime ? 'yes' : 'NO'],
    ...(h.serverMetrics
      ? ([
          [`${prefix}server /metrics: event-loop lag p99 / max`, `${ms(h.serverMetrics.eventLoopLagP99Ms)} / ${ms(h.serverMetrics.eventLoopLagMaxMs)}`],
          [`${prefix}server /metrics: messages received / sent`, `${num(h.serverMetrics.messagesReceived)} / ${num(h.serverMetrics.messagesSent)}`],
          [`${prefix}server /metrics: heap used`, mib(h.serverMetrics.heapUsedBytes)],
          [`${prefix}server /metrics: database work (hold)`, dbWorkSummary(h.serverMetrics)],
        ] as [string, string][])
      : []),
    [
      `${prefix}ReportFullState asked / error_response`,
      `${num(r.ramp.fullStateRequests + h.fullStateRequests)} / ${num(r.ramp.errorResponses + h.errorResponses)}`,
    ],
  ];
}

export function baselineCells(ours: FleetRun, base: FleetRun): string[] {
  const cell = (a: number, b: number, f: (x: number) => string) => `${f(a)} / ${f(b)} (${ratio(a, b)})`;
  return [
    cell(ours.hold.server.rssBytes, base.hold.server.rssBytes, mib),
    cell(ours.rssPerAgentIncrementBytes, base.rssPerAgentIncrementBytes, kib),
    cell(ours.hold.server.cpuPct, base.hold.server.cpuPct, pct),
    cell(ours.hold.sentPerSec, base.hold.sentPerSec, (x) => num(x, 1)),
    cell(ours.hold.latency.all.p50, base.hold.latency.all.p50, ms),
    cell(ours.hold.latency.all.p99, base.hold.latency.all.p99, ms),
  ];
}

export async function connectHold(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  const ours = await runFleet(env, 'opamp-commander', { holdSeconds: args.duration, ingestRate: 0 });
  let base: FleetRun | undefined;
  if (args.baseline) {
    if (args.transport !== 'ws') env.log('the baseline is a WebSocket server: running it over ws');
    base = await runFleet(env, 'ws-echo', { holdSeconds: args.duration, ingestRate: 0 });
  }
  const key = runName(args, `heartbeat ${args.heartbeat} s`);
  const rows: Outcome['rows'] = [{ section: CONNECT_HOLD, key, cells: holdCells(ours) }];
  const summary = fleetSummary('', ours);
  if (base) {
    rows.push({ section: BASELINE, key: `connect-hold: ${key}`, cells: baselineCells(ours, base) });
    summary.push(...fleetSummary('bare ws: ', base));
    summary.push([
      'ratio RSS / RSS growth per agent',
      `${ratio(ours.hold.server.rssBytes, base.hold.server.rssBytes)} / ${ratio(ours.rssPerAgentIncrementBytes, base.rssPerAgentIncrementBytes)}`,
    ]);
    summary.push([
      'ratio CPU / p50 / p99',
      `${ratio(ours.hold.server.cpuPct, base.hold.server.cpuPct)} / ${ratio(ours.hold.latency.all.p50, base.hold.latency.all.p50)} / ${ratio(ours.hold.latency.all.p99, base.hold.latency.all.p99)}`,
    ]);
  }
  const ok = ours.ramp.complete;
  return { exitCode: ok ? 0 : 1, summary, json: { ours, baseline: base }, rows };
}
