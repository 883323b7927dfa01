import { rolloutOutcome, rolloutStatusLines, stageText } from './rollout-status';

const rollout = (status: Record<string, unknown>) => ({ kind: 'Rollout', metadata: { name: 'web-v2' }, status });

describe('rollout status (opampctl)', () => {
  it.each([
    ['Succeeded', 'done'],
    ['RolledBack', 'failed'],
    ['Aborted', 'failed'],
    ['Progressing', 'waiting'],
    ['Paused', 'waiting'],
    ['Pending', 'waiting'],
  ])('wait --for succeeded: %s is %s', (phase, outcome) => {
    expect(rolloutOutcome(rollout({ phase }))).toBe(outcome);
  });

  it('shows the stage counted from 1, and <none> before planning', () => {
    expect(stageText(rollout({ stage: 1, stageCount: 3 }))).toBe('2/3');
    expect(stageText(rollout({ stage: 0 }))).toBe('<none>');
  });

  it('prints phase and reason, each stage (bars on a terminal only), gates and failed agents', () => {
    const r = rollout({
      phase: 'RolledBack',
      stage: 0,
      stageCount: 2,
      reached: 1,
      targetAgents: 6,
      stages: [{ reached: 1, applied: 0, failed: 1, pending: 0 }],
      gates: [{ metric: 'applyFailed', value: 1, threshold: 0, agents: 1, of: 1, passed: false }],
      conditions: [{ type: 'RolledBack', reason: 'GateTripped', message: 'stage 1/2: applyFailed 1/1 (100%) over 0%' }],
      failedAgents: [{ uid: 'a1', error: 'BROKEN' }],
    });
    const plain = rolloutStatusLines(r);
    expect(plain).toEqual([
      'rollout/web-v2: RolledBack (GateTripped), stage 1/2, 1/6 agents reached',
      '  stage 1/2: applyFailed 1/1 (100%) over 0%',
      '  stage 1: 0/1 applied, 1 failed, 0 pending',
      'gates:',
      '  TRIP applyFailed 1/1 = 100%, max 0%',
      'failed agents:',
      '  a1: BROKEN',
    ]);
    const tty = rolloutStatusLines(
      { ...r, status: { ...r.status, phase: 'Progressing', stages: [{ reached: 4, applied: 2, failed: 0, pending: 2 }] } },
      { tty: true, barWidth: 4 },
    );
    expect(tty[2]).toBe('> stage 1: [##--] 2/4 applied, 0 failed, 2 pending');
  });

  it('adds the package counts to each stage of a rollout of packages', () => {
    const lines = rolloutStatusLines(
      rollout({
        phase: 'Progressing',
        stage: 1,
        stageCount: 2,
        reached: 3,
        targetAgents: 3,
        stages: [
          { reached: 1, applied: 1, failed: 0, pending: 0, packages: { installed: 1, installing: 0, failed: 0, pending: 0 } },
          { reached: 2, applied: 0, failed: 0, pending: 2, packages: { installed: 0, installing: 1, failed: 0, pending: 1 } },
        ],
      }),
    );
    expect(lines.slice(1)).toEqual([
      '  stage 1: 1/1 applied, 0 failed, 0 pending; packages 1 installed, 0 installing, 0 failed, 0 pending',
      '> stage 2: 0/2 applied, 0 failed, 2 pending; packages 0 installed, 1 installing, 0 failed, 1 pending',
    ]);
  });

  it('adds the connection-settings counts to each stage of a rollout of connection settings', () => {
    const lines = rolloutStatusLines(
      rollout({
        phase: 'RolledBack',
        stage: 0,
        stageCount: 2,
        reached: 1,
        targetAgents: 3,
        stages: [{ reached: 1, applied: 0, failed: 1, pending: 0, connectionSettings: { applied: 0, applying: 0, failed: 1, pending: 0 } }],
      }),
    );
    expect(lines[1]).toBe('  stage 1: 0/1 applied, 1 failed, 0 pending; connection settings 0 applied, 0 applying, 1 failed, 0 pending');
  });
});
