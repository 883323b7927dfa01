import { AgentObservation, GateSpec, judgeStage } from './gate-evaluator';

const agent = (state: AgentObservation['state'], more: Partial<AgentObservation> = {}): AgentObservation => ({
  uid: Math.random().toString(36),
  state,
  connected: true,
  ...more,
});
const applied = (n: number, more: Partial<AgentObservation> = {}) => Array.from({ length: n }, () => agent('applied', more));

describe('gate evaluator', () => {
  const noFailures: GateSpec[] = [{ metric: 'applyFailed', maxRatio: 0 }];

  it.each<[string, AgentObservation[], boolean, string]>([
    ['every agent applied', applied(4), false, 'passed'],
    ['one still applying', [...applied(3), agent('applying')], false, 'waiting'],
    ['one still pending when the deadline passes counts as failed', [...applied(3), agent('pending')], true, 'tripped'],
    ['one failed', [...applied(3), agent('failed')], false, 'tripped'],
    ['an empty stage passes', [], false, 'passed'],
  ])('apply-failed gate at 0: %s', (_what, stage, timedOut, verdict) => {
    expect(judgeStage(stage, noFailures, { timedOut }).kind).toBe(verdict);
  });

  it('a tolerated failure ratio lets one of ten fail, not two', () => {
    const gates: GateSpec[] = [{ metric: 'applyFailed', maxRatio: 0.1 }];
    expect(judgeStage([...applied(9), agent('failed')], gates, { timedOut: false }).kind).toBe('passed');
    const two = judgeStage([...applied(8), agent('failed'), agent('failed')], gates, { timedOut: false });
    expect(two.kind).toBe('tripped');
    expect(two.kind === 'tripped' && two.reason).toBe('applyFailed 2/10 (20%) over 10%');
  });

  it.each<[string, GateSpec, AgentObservation[], boolean]>([
    ['disconnected after apply', { metric: 'disconnected', maxRatio: 0 }, [...applied(3), agent('applied', { connected: false })], false],
    ['unhealthy after apply', { metric: 'unhealthy', maxRatio: 0.25 }, [...applied(2, { healthy: true }), ...applied(2, { healthy: false })], false],
    ['unhealthy: agents without health reports are not judged', { metric: 'unhealthy', maxRatio: 0 }, [...applied(3), ...applied(1, { healthy: true })], true],
    [
      'effective config not what was sent',
      { metric: 'effectiveMismatch', maxRatio: 0 },
      [...applied(2, { effectiveMatches: true }), agent('applied', { effectiveMatches: false })],
      false,
    ],
  ])('%s', (_what, gate, stage, passes) => {
    expect(judgeStage(stage, [gate], { timedOut: false }).kind).toBe(passes ? 'passed' : 'tripped');
  });

  it('against the control group, a problem the whole fleet has does not trip the gate', () => {
    const gate: GateSpec = { metric: 'unhealthy', maxRatio: 0.1, vsControl: true };
    const stage = [...applied(7, { healthy: true }), ...applied(3, { healthy: false })];
    const sickFleet = [...applied(70, { healthy: true }), ...applied(30, { healthy: false })];
    const healthyFleet = applied(100, { healthy: true });
    const vsSick = judgeStage(stage, [gate], { timedOut: false, control: sickFleet });
    expect(vsSick.kind).toBe('passed');
    expect(vsSick.kind === 'passed' && vsSick.results[0]).toMatchObject({ value: 0.3, control: 0.3 });
    const vsHealthy = judgeStage(stage, [gate], { timedOut: false, control: healthyFleet });
    expect(vsHealthy.kind === 'tripped' && vsHealthy.reason).toBe('unhealthy 3/10 (30% vs control 0%) over 10%');
  });

  it('reports every gate, and names every one that tripped', () => {
    const gates: GateSpec[] = [
      { metric: 'applyFailed', maxRatio: 0 },
      { metric: 'disconnected', maxRatio: 0 },
      { metric: 'unhealthy', maxRatio: 0 },
    ];
    const v = judgeStage([agent('failed', { connected: false, healthy: true }), agent('applied', { healthy: true })], gates, { timedOut: false });
    expect(v.kind).toBe('tripped');
    expect(v.kind === 'tripped' && v.results.map((r) => r.passed)).toEqual([false, false, true]);
    expect(v.kind === 'tripped' && v.reason).toBe('applyFailed 1/2 (50%) over 0%; disconnected 1/2 (50%) over 0%');
  });

  it.each<[string, GateSpec, AgentObservation[], string]>([
    [
      'exportFailing trips on an agent whose own telemetry says its exporter fails',
      { metric: 'exportFailing', maxRatio: 0 },
      [...applied(2, { conditions: { ExportFailing: 'False' } }), agent('applied', { conditions: { ExportFailing: 'True' } })],
      'tripped',
    ],
    [
      'idle judges only agents whose Idle condition is known',
      { metric: 'idle', maxRatio: 0 },
      [...applied(2, { conditions: { Idle: 'Unknown' } }), ...applied(1), agent('applied', { conditions: { Idle: 'False' } })],
      'passed',
    ],
    [
      'noTelemetry reads Stale',
      { metric: 'noTelemetry', maxRatio: 0.5 },
      [agent('applied', { conditions: { Stale: 'True' } }), ...applied(1, { conditions: { Stale: 'False' } })],
      'passed',
    ],
    [
      'restarting over its ratio',
      { metric: 'restarting', maxRatio: 0.2 },
      [...applied(3, { conditions: { Restarting: 'True' } }), ...applied(2, { conditions: { Restarting: 'False' } })],
      'tripped',
    ],
  ])('data-plane gate: %s', (_what, gate, stage, verdict) => {
    const v = judgeStage(stage, [gate], { timedOut: false });
    expect(v.kind).toBe(verdict);
  });

  it('a data-plane gate with vsControl forgives a problem the control group has as much', () => {
    const gate: GateSpec = { metric: 'exportFailing', maxRatio: 0.1, vsControl: true };
    const stage = [agent('applied', { conditions: { ExportFailing: 'True' } }), ...applied(1, { conditions: { ExportFailing: 'False' } })];
    const control = [...applied(5, { conditions: { ExportFailing: 'True' } }), ...applied(5, { conditions: { ExportFailing: 'False' } })];
    expect(judgeStage(stage, [gate], { timedOut: false, control }).kind).toBe('passed');
    expect(judgeStage(stage, [gate], { timedOut: false, control: applied(10, { conditions: { ExportFailing: 'False' } }) }).kind).toBe('tripped');
  });
});
