import { FleetRun, RunEnv, runFleet } from '../fleet-run';
import { mib, ms, num, pct, ratio, ResultsSection, secs } from '../report';
import { BASELINE, baselineCells, fleetSummary } from './connect-hold';
import { dbWorkCell } from '../server-metrics';
import { Outcome, runName } from './outcome';

export const INGEST: ResultsSection = {
  id: 'ingest',
  title: 'ingest',
  about:
    'N agents connected; status changes (the component health tree flips between healthy and a failing exporter, ' +
    'each a ~2 KB message the server must store) at a set total rate, heartbeats continuing. Latency is of the status messages. ' +
    'DB work = database commands, documents and bytes written during the window, per 1,000 agent messages (status and heartbeats) the server received.',
  columns: ['Run', 'Achieved changes/s', 'p50 / p99 / max', 'Late (> 1 s)', 'Server CPU', 'DB CPU', 'Server RSS', 'Duration', 'DB work / 1k agent msgs'],
};

function cells(r: FleetRun): string[] {
  const h = r.hold;
  return [
    num(h.statusPerSec, 1),
    `${ms(h.latency.status.p50)} / ${ms(h.latency.status.p99)} / ${ms(h.latency.status.max)}`,
    `${num(h.late)}${h.pendingAtEnd ? `, ${num(h.pendingAtEnd)} pending at end` : ''}`,
    pct(h.server.cpuPct),
    h.db ? pct(h.db.cpuPct) : 'n/a',
    mib(h.server.rssBytes),
    `${secs(h.seconds)}${h.otherCpuPct >= 10 ? ` (other processes: ${pct(h.otherCpuPct)} CPU)` : ''}`,
    dbWorkCell(h.serverMetrics),
  ];
}

export async function ingest(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  const ours = await runFleet(env, 'opamp-commander', { holdSeconds: args.duration, ingestRate: args.rate });
  let base: FleetRun | undefined;
  if (args.baseline) {
    if (args.transport !== 'ws') env.log('the baseline is a WebSocket server: running it over ws');
    base = await runFleet(env, 'ws-echo', { holdSeconds: args.duration, ingestRate: args.rate });
  }
  const key = runName(args, `${num(args.rate)} changes/s`);
  const rows: Outcome['rows'] = [{ section: INGEST, key, cells: cells(ours) }];
  const h = ours.hold;
  const summary: [string, string][] = [
    ['target / achieved status changes per s', `${num(args.rate)} / ${num(h.statusPerSec, 1)}`],
    ['status answer p50 / p99 / max', `${ms(h.latency.status.p50)} / ${ms(h.latency.status.p99)} / ${ms(h.latency.status.max)}`],
    ...fleetSummary('', ours),
  ];
  if (base) {
    rows.push({ section: BASELINE, key: `ingest: ${key}`, cells: baselineCells(ours, base) });
    summary.push(...fleetSummary('bare ws: ', base));
    summary.push([
      'ratio CPU / p50 / p99',
      `${ratio(h.server.cpuPct, base.hold.server.cpuPct)} / ${ratio(h.latency.all.p50, base.hold.latency.all.p50)} / ${ratio(h.latency.all.p99, base.hold.latency.all.p99)}`,
    ]);
  }
  return { exitCode: ours.ramp.complete ? 0 : 1, summary, json: { ours, baseline: base }, rows };
}
