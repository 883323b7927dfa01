import type { TelemetryWindow } from './telemetry-window';

export const CONDITION_TYPES = ['Idle', 'ExportFailing', 'Stale', 'Restarting'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** A Kubernetes-style condition of an agent, as shown in `status.conditions`. */
export interface AgentCondition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  /** When the status last changed (as seen by this replica). */
  since?: string;
}

export interface ConditionThresholds {
  idleSeconds: number;
  staleSeconds: number;
  exportFailingRatio: number;
  exportFailingSeconds: number;
  /** Restarts within the window that make an agent Restarting. */
  restartThreshold: number;
}

export interface ConditionFacts {
  nowMs: number;
  connected: boolean;
  /** Reported health (undefined: not reported). */
  healthy?: boolean;
  /** The agent should send its own metrics here (it declares ReportsOwnMetrics and was offered this server). */
  expectsOwnMetrics: boolean;
  /** Since when it should (its current OpAMP run), and when it last did. */
  expectedSinceMs?: number;
  lastReceivedMs?: number;
  window?: TelemetryWindow;
}

const WINDOW_SECONDS = 3600;

/** The conditions of one agent from what is known of it now (status and since are left to the caller's memory). */
export function evaluateConditions(f: ConditionFacts, t: ConditionThresholds): Omit<AgentCondition, 'since'>[] {
  const out: Omit<AgentCondition, 'since'>[] = [];
  const w = f.window;

  // Stale: connected, expected to send, silent too long (receive time: the server's clock).
  const silentSince = f.lastReceivedMs ?? f.expectedSinceMs;
  if (!f.connected || (!f.expectsOwnMetrics && f.lastReceivedMs === undefined) || silentSince === undefined) {
    out.push({
      type: 'Stale',
      status: 'Unknown',
      reason: f.connected ? 'NotExpected' : 'Disconnected',
      message: f.connected ? 'the agent is not expected to send its own metrics here' : 'the agent is not connected',
    });
  } else {
    const silent = (f.nowMs - silentSince) / 1000;
    out.push(
      silent > t.staleSeconds
        ? {
            type: 'Stale',
            status: 'True',
            reason: f.lastReceivedMs === undefined ? 'NoOwnMetrics' : 'OwnMetricsStopped',
            message: `no own metrics for ${Math.round(silent)} s (more than ${t.staleSeconds} s)`,
          }
        : { type: 'Stale', status: 'False', reason: 'OwnMetricsArriving', message: `own metrics received ${Math.round(silent)} s ago` },
    );
  }

  if (!w || w.lastPointMs === undefined) {
    for (const type of ['Idle', 'ExportFailing', 'Restarting'] as const)
      out.push({ type, status: 'Unknown', reason: 'NoOwnMetrics', message: 'no own metrics received' });
    return order(out);
  }

  // Idle: connected and healthy, had accepted items, none for idleSeconds up to its latest report (the agent's clock).
  if (!f.connected) {
    out.push({ type: 'Idle', status: 'Unknown', reason: 'Disconnected', message: 'the agent is not connected' });
  } else if (w.firstAcceptedMs === undefined) {
    out.push({ type: 'Idle', status: 'False', reason: 'NeverHadTraffic', message: 'no items accepted yet in the window' });
  } else {
    const quiet = (w.lastPointMs - (w.lastAcceptedMs ?? w.firstAcceptedMs)) / 1000;
    if (quiet >= t.idleSeconds && f.healthy !== false) {
      out.push({
        type: 'Idle',
        status: 'True',
        reason: 'NoItemsAccepted',
        message: `no items accepted by any receiver for ${Math.round(quiet)} s (threshold ${t.idleSeconds} s)`,
      });
    } else if (quiet >= t.idleSeconds) {
      out.push({
        type: 'Idle',
        status: 'False',
        reason: 'Unhealthy',
        message: 'no items accepted, but the agent reports itself unhealthy (its health says why)',
      });
    } else {
      out.push({ type: 'Idle', status: 'False', reason: 'ItemsAccepted', message: `items accepted ${Math.round(quiet)} s before the latest report` });
    }
  }

  // ExportFailing: failed / (sent + failed) over the last exportFailingSeconds of reports.
  const failed = w.sum('exporter_send_failed', w.lastPointMs, t.exportFailingSeconds);
  const sent = w.sum('exporter_sent', w.lastPointMs, t.exportFailingSeconds);
  const ratio = failed + sent > 0 ? failed / (failed + sent) : 0;
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  out.push(
    failed > 0 && ratio > t.exportFailingRatio
      ? {
          type: 'ExportFailing',
          status: 'True',
          reason: 'SendFailures',
          message: `${Math.round(failed)} of ${Math.round(failed + sent)} items failed to send in the last ${t.exportFailingSeconds} s (${pct(ratio)} > ${pct(t.exportFailingRatio)})`,
        }
      : {
          type: 'ExportFailing',
          status: 'False',
          reason: failed + sent > 0 ? 'Sending' : 'NothingToSend',
          message: `${pct(ratio)} of items failed to send in the last ${t.exportFailingSeconds} s`,
        },
  );

  // Restarting: the uptime (or CPU seconds) went back more than the threshold within the window.
  const restarts = w.restarts.filter((ms) => ms > w.lastPointMs! - WINDOW_SECONDS * 1000).length;
  out.push(
    restarts >= t.restartThreshold
      ? { type: 'Restarting', status: 'True', reason: 'UptimeReset', message: `${restarts} restarts in the last hour` }
      : { type: 'Restarting', status: 'False', reason: 'Stable', message: `${restarts} restarts in the last hour` },
  );
  return order(out);
}

function order(cs: Omit<AgentCondition, 'since'>[]): Omit<AgentCondition, 'since'>[] {
  return CONDITION_TYPES.map((type) => cs.find((c) => c.type === type)!).filter(Boolean);
}
