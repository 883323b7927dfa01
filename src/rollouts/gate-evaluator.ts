/**
 * Whether a stage of a rollout may go on: first whether every agent of the stage has settled
 * (reported APPLIED or FAILED for the new config, or run out of time, which counts as FAILED),
 * then each gate's value over the stage's agents against its threshold and, where the gate says
 * so, against the agents not yet in the rollout (the control group), so that a fleet-wide
 * problem the change did not cause does not roll it back.
 */

/** What the server knows of one agent, for the gates. */
export interface AgentObservation {
  uid: string;
  /** Delivery of the config the rollout sent it (for control agents: of whatever they run). */
  state: 'applied' | 'failed' | 'applying' | 'pending';
  connected: boolean;
  /** From its health report; undefined when it reports none. */
  healthy?: boolean;
  /** Whether the effective config it reports hashes to what it was sent; undefined when it does not report one. */
  effectiveMatches?: boolean;
  /**
   * Its data-plane conditions (from its own telemetry: Idle, ExportFailing, Restarting, Stale) by
   * type, 'True' / 'False' / 'Unknown'; absent when no data-plane gate asked for them.
   */
  conditions?: Readonly<Record<string, string>>;
}

export type GateMetric = 'applyFailed' | 'disconnected' | 'unhealthy' | 'effectiveMismatch' | DataPlaneMetric;

/** Gates on what the agents do with data (their own telemetry's conditions), and the condition each reads. */
export const DATA_PLANE_GATES = { idle: 'Idle', exportFailing: 'ExportFailing', restarting: 'Restarting', noTelemetry: 'Stale' } as const;
export type DataPlaneMetric = keyof typeof DATA_PLANE_GATES;
export const isDataPlaneMetric = (m: string): m is DataPlaneMetric => m in DATA_PLANE_GATES;

export interface GateSpec {
  metric: GateMetric;
  /** Largest share (0–1) of the stage's agents allowed to show the problem (or above the control's share, with `vsControl`). */
  maxRatio: number;
  /** Compare with the control group: the gate trips when the stage's share exceeds the control's by more than maxRatio. */
  vsControl?: boolean;
}

export interface GateResult {
  metric: GateMetric;
  value: number;
  control?: number;
  threshold: number;
  /** Agents showing the problem. */
  agents: number;
  /** Agents the value is taken over (those it can be judged for). */
  of: number;
  passed: boolean;
}

export type StageVerdict =
  { kind: 'waiting'; settled: number; of: number } | { kind: 'passed'; results: GateResult[] } | { kind: 'tripped'; results: GateResult[]; reason: string };

/** Which agents a metric can judge, and which of them show the problem. */
function measure(metric: GateMetric, agents: readonly AgentObservation[]): { bad: number; of: number } {
  let bad = 0;
  let of = 0;
  for (const a of agents) {
    switch (metric) {
      case 'applyFailed':
        of++;
        if (a.state === 'failed') bad++;
        break;
      case 'disconnected':
        of++;
        if (!a.connected) bad++;
        break;
      case 'unhealthy':
        if (a.healthy === undefined) break;
        of++;
        if (!a.healthy) bad++;
        break;
      case 'effectiveMismatch':
        if (a.effectiveMatches === undefined || a.state !== 'applied') break;
        of++;
        if (!a.effectiveMatches) bad++;
        break;
      default: {
        // A data-plane condition judges the agents it is known for (True or False); Unknown ones are left out.
        const c = a.conditions?.[DATA_PLANE_GATES[metric]];
        if (c !== 'True' && c !== 'False') break;
        of++;
        if (c === 'True') bad++;
      }
    }
  }
  return { bad, of };
}

/**
 * The verdict on a stage. `timedOut` says the stage's apply deadline has passed: agents still
 * applying or pending then count as failed, and the gates are evaluated.
 */
export function judgeStage(
  stage: readonly AgentObservation[],
  gates: readonly GateSpec[],
  opts: { timedOut: boolean; control?: readonly AgentObservation[] },
): StageVerdict {
  const unsettled = stage.filter((a) => a.state === 'applying' || a.state === 'pending').length;
  if (unsettled > 0 && !opts.timedOut) return { kind: 'waiting', settled: stage.length - unsettled, of: stage.length };
  const judged = opts.timedOut ? stage.map((a) => (a.state === 'applying' || a.state === 'pending' ? { ...a, state: 'failed' as const } : a)) : stage;

  const results = gates.map((g): GateResult => {
    const { bad, of } = measure(g.metric, judged);
    const value = of === 0 ? 0 : bad / of;
    let control: number | undefined;
    if (g.vsControl && opts.control) {
      const c = measure(g.metric, opts.control);
      control = c.of === 0 ? 0 : c.bad / c.of;
    }
    const passed = value - (control ?? 0) <= g.maxRatio + 1e-12;
    return { metric: g.metric, value, control, threshold: g.maxRatio, agents: bad, of, passed };
  });
  const failed = results.filter((r) => !r.passed);
  if (!failed.length) return { kind: 'passed', results };
  const reason = failed
    .map((r) => `${r.metric} ${r.agents}/${r.of} (${pct(r.value)}${r.control === undefined ? '' : ` vs control ${pct(r.control)}`}) over ${pct(r.threshold)}`)
    .join('; ');
  return { kind: 'tripped', results, reason };
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
