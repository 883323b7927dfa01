import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { TimeSeriesChart } from '../components/TimeSeriesChart';
import { bytes, when } from '../format';
import type { Agent, AgentCondition, AgentTelemetry, TelemetrySeries } from '../types';

/** The agent's own metrics change without a change event: read again this often while its page is open. */
const TELEMETRY_POLL_MS = 5000;

const rate = (v: number) => `${v >= 100 ? Math.round(v) : Number(v.toPrecision(3))}/s`;
const count = (v: number) => String(Math.round(v));
const percent = (v: number) => `${Number((v * 100).toPrecision(3))} %`;

/** The charts: one per family of the Collector's own metrics, summed over its components and signals. */
const CHARTS: { family: string; title: string; format: (v: number) => string; current?: keyof NonNullable<AgentTelemetry['status']['current']> }[] = [
  { family: 'receiver_accepted', title: 'Items accepted', format: rate, current: 'acceptedPerSecond' },
  { family: 'receiver_refused', title: 'Items refused', format: rate, current: 'refusedPerSecond' },
  { family: 'exporter_sent', title: 'Items sent', format: rate, current: 'sentPerSecond' },
  { family: 'exporter_send_failed', title: 'Items failed to send', format: rate, current: 'sendFailedPerSecond' },
  { family: 'exporter_queue_size', title: 'Exporter queue size', format: count, current: 'queueSize' },
  { family: 'process_cpu_seconds', title: 'CPU', format: percent, current: 'cpuSecondsPerSecond' },
  { family: 'process_memory_rss', title: 'Memory (RSS)', format: (v) => bytes(Math.round(v)), current: 'rssBytes' },
];

/** Per bucket, the sum of the family's series (null where none of them reported). */
function familyPoints(series: TelemetrySeries[], family: string): (number | null)[] | undefined {
  const of = series.filter((s) => s.family === family);
  if (!of.length) return undefined;
  return of[0].points.map((_, i) => {
    const values = of.map((s) => s.points[i]).filter((v): v is number => v !== null && v !== undefined);
    return values.length ? values.reduce((a, b) => a + b, 0) : null;
  });
}

/** The agent's conditions: the telemetry's (fresher, polled) over those of the agent resource, by type. */
function mergedConditions(agent: Agent, t: AgentTelemetry | undefined): AgentCondition[] {
  const byType = new Map<string, AgentCondition>();
  for (const c of agent.status.conditions ?? []) byType.set(c.type, c);
  for (const c of t?.status.conditions ?? []) byType.set(c.type, c);
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}

export function useAgentTelemetry(uid: string) {
  return useQuery({
    queryKey: ['agent', uid, 'telemetry'],
    queryFn: () => api<AgentTelemetry>(`/agents/${encodeURIComponent(uid)}/telemetry`),
    refetchInterval: TELEMETRY_POLL_MS,
  });
}

const badgeClass = (c: AgentCondition) => (c.status === 'True' ? 'bad' : c.status === 'False' ? 'ok' : 'unknown');

/** The conditions as badges (red: True, green: False, grey: Unknown), each with its message on hover. */
export function ConditionBadges({ agent }: { agent: Agent }) {
  const t = useAgentTelemetry(agent.metadata.name);
  const conditions = mergedConditions(agent, t.data);
  if (!conditions.length) return null;
  return (
    <ul className="labels" aria-label="Condition badges" data-testid="conditions">
      {conditions.map((c) => (
        <li key={c.type} className={`badge ${badgeClass(c)}`} title={c.message}>
          {c.type}: {c.status}
        </li>
      ))}
    </ul>
  );
}

/** The agent's own metrics (OTLP it sends to the server): current values in a table, the last hour as charts, the conditions with why. */
export function AgentTelemetrySection({ agent }: { agent: Agent }) {
  const q = useAgentTelemetry(agent.metadata.name);
  const s = q.data?.status;
  const conditions = mergedConditions(agent, q.data);
  const series = s?.window?.series ?? [];
  const charts = CHARTS.map((c) => ({ ...c, points: familyPoints(series, c.family) })).filter((c) => c.points);
  const cur = s?.current;
  return (
    <section aria-labelledby="h-telemetry">
      <h2 id="h-telemetry">Own telemetry</h2>
      <ProblemMessage error={q.error} />
      {s && !s.held && <p>The server holds no own metrics of this agent (it sends none here, or not since its connection began).</p>}
      {s?.held && (
        <>
          <p className="hint">
            {s.reports ?? 0} reports, the latest received {when(s.lastReceivedAt)}
            {s.heldBy ? ` (kept by replica ${s.heldBy})` : ''}. Rates are items per second over the agent’s latest report interval.
          </p>
          {cur && (
            <div className="table-wrap">
              <table aria-label="Current own metrics" className="current-metrics">
                <tbody>
                  {CHARTS.filter((c) => c.current && cur[c.current] !== undefined && cur[c.current] !== null).map((c) => (
                    <tr key={c.family}>
                      <th scope="row">{c.title}</th>
                      <td data-testid={`current-${c.title}`}>{c.format(cur[c.current!]!)}</td>
                    </tr>
                  ))}
                  {cur.queueCapacity !== undefined && cur.queueCapacity !== null && (
                    <tr>
                      <th scope="row">Exporter queue capacity</th>
                      <td>{count(cur.queueCapacity)}</td>
                    </tr>
                  )}
                  {cur.exportFailureRatio !== undefined && cur.exportFailureRatio !== null && (
                    <tr>
                      <th scope="row">Export failure ratio</th>
                      <td>{percent(cur.exportFailureRatio)}</td>
                    </tr>
                  )}
                  {cur.uptimeSeconds !== undefined && cur.uptimeSeconds !== null && (
                    <tr>
                      <th scope="row">Uptime</th>
                      <td>{Math.round(cur.uptimeSeconds)} s</td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          )}
          {charts.length > 0 && s.window && (
            <div className="charts">
              {charts.map((c) => (
                <TimeSeriesChart
                  key={c.family}
                  title={c.title}
                  points={c.points!}
                  stepSeconds={s.window!.stepSeconds}
                  start={s.window!.start}
                  latest={c.current ? (cur?.[c.current] ?? null) : undefined}
                  format={c.format}
                />
              ))}
            </div>
          )}
        </>
      )}
      {conditions.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Conditions">
            <thead>
              <tr>
                <th scope="col">Condition</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {conditions.map((c) => (
                <tr key={c.type}>
                  <th scope="row">{c.type}</th>
                  <td>
                    <span className={`badge ${badgeClass(c)}`}>{c.status}</span>
                  </td>
                  <td>{c.reason ?? '—'}</td>
                  <td>{c.message ?? ''}</td>
                  <td>{when(c.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
