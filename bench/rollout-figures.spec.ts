import type { ConfigLog } from './load-protocol';
import { RolloutConditionView, rollbackFigures, rolloutFigures } from './rollout-figures';

const T0 = Date.parse('2026-12-04T12:00:00.000Z');
const c = (reason: string, message: string, ms: number, type = 'Progressing'): RolloutConditionView => ({
  type,
  reason,
  message,
  at: new Date(T0 + ms).toISOString(),
});

const OLD = 'aa';
const NEW = 'bb';

describe('rolloutFigures', () => {
  // Two stages, bake 5 s: stage 1 (one agent) starts at 1.0 s, stage 2 (one more) at 8.5 s.
  const conditions = [
    c('Created', 'waits for the controller', 0, 'Pending'),
    c('Started', 'moving agentgroup g', 400),
    c('StageStarted', 'stage 1/2 reaches 1 of 2 agents', 1000),
    c('Baking', 'stage 1/2 passed its gates; baking for 5s', 2000),
    c('StagePassed', 'stage 1/2 passed (1 agents)', 7500),
    c('StageStarted', 'stage 2/2 reaches 2 of 2 agents', 8500),
    c('Baking', 'stage 2/2 passed its gates; baking for 5s', 9600),
    c('Succeeded', '2 stages passed', 14600, 'Succeeded'),
  ];
  const log: ConfigLog[] = [
    { uid: 'a', before: OLD, events: [{ hash: NEW, at: T0 + 1100, status: 'APPLIED', reportedAt: T0 + 1250, ackAt: T0 + 1300 }] },
    { uid: 'b', before: OLD, events: [{ hash: NEW, at: T0 + 8600, status: 'APPLIED', reportedAt: T0 + 8800, ackAt: T0 + 9000 }] },
  ];

  it('splits the time beyond the bakes into start, delivery, notice, bake over and advance', () => {
    const f = rolloutFigures(conditions, log, NEW, T0, 5);
    expect(f.totalS).toBeCloseTo(14.6);
    expect(f.bakesS).toBe(10);
    expect(f.overheadS).toBeCloseTo(4.6);
    expect(f.startS).toBeCloseTo(1.0);
    expect(f.stages.map((s) => s.agents)).toEqual([1, 1]);
    expect(f.stages[0].firstReceivedS).toBeCloseTo(0.1);
    expect(f.stages[0].receivedS).toBeCloseTo(0.1);
    expect(f.stages[0].toAllAppliedS).toBeCloseTo(0.25);
    expect(f.stages[0].answeredS).toBeCloseTo(0.3);
    expect(f.stages[0].noticedS).toBeCloseTo(0.75);
    expect(f.stages[0].bakeOverS).toBeCloseTo(0.5);
    expect(f.stages[0].advanceS).toBeCloseTo(1.0);
    expect(f.stages[1].toAllAppliedS).toBeCloseTo(0.3);
    expect(f.stages[1].bakeOverS).toBeCloseTo(0);
    expect(f.stages[1].advanceS).toBe(0);
    // The parts add up to the overhead.
    const parts = f.startS + f.stages.reduce((a, s) => a + s.toAllAppliedS + s.noticedS + s.bakeOverS + s.advanceS, 0);
    expect(parts).toBeCloseTo(f.overheadS);
  });

  it('leaves a stage without an end when one of its agents never applied', () => {
    const failed: ConfigLog[] = [
      log[0],
      { uid: 'b', before: OLD, events: [{ hash: NEW, at: T0 + 8600, status: 'FAILED', reportedAt: T0 + 8800, ackAt: T0 + 9000 }] },
    ];
    const f = rolloutFigures(conditions, failed, NEW, T0, 5);
    expect(f.stages[0].toAllAppliedS).toBeCloseTo(0.25);
    expect(f.stages[1].toAllAppliedS).toBeNaN();
  });

  it('has no total while the rollout has not succeeded', () => {
    expect(rolloutFigures(conditions.slice(0, 5), log, NEW, T0, 5).totalS).toBeNaN();
  });
});

describe('rollbackFigures', () => {
  const conditions = [
    c('Created', 'waits', 0, 'Pending'),
    c('StageStarted', 'stage 1/4 reaches 2 of 200 agents', 1000),
    c('GateTripped', 'stage 1/4: applyFailed 2/2 (100%) over 0%', 2000, 'RolledBack'),
  ];
  const canary = (uid: string, backAck?: number): ConfigLog => ({
    uid,
    before: OLD,
    events: [
      { hash: NEW, at: T0 + 1100, status: 'FAILED', ackAt: T0 + 1300 },
      ...(backAck ? [{ hash: OLD, at: backAck - 150, status: 'APPLIED' as const, ackAt: backAck }] : []),
    ],
  });
  const bystander: ConfigLog = { uid: 'x', before: OLD, events: [] };

  it('times the trip to the last agent back on its old config', () => {
    const b = rollbackFigures(conditions, [canary('a', T0 + 2200), canary('b', T0 + 2600), bystander], NEW);
    expect(b.tripAfterS).toBeCloseTo(1.0);
    expect(b.gotNewHash).toBe(2);
    expect(b.gotNewHashLater).toBe(0);
    expect(b.back).toBe(2);
    expect(b.rollbackS).toBeCloseTo(0.6);
  });

  it('has no rollback time while an agent is still on the new hash', () => {
    const b = rollbackFigures(conditions, [canary('a', T0 + 2200), canary('b')], NEW);
    expect(b.back).toBe(1);
    expect(b.rollbackS).toBeNaN();
  });

  it('does not count a config of another hash as the way back', () => {
    const other: ConfigLog = { ...canary('a'), events: [...canary('a').events, { hash: 'cc', at: T0 + 2100, status: 'APPLIED', ackAt: T0 + 2300 }] };
    expect(rollbackFigures(conditions, [other], NEW).back).toBe(0);
  });

  it('counts agents that got the new hash after the gate tripped', () => {
    const late: ConfigLog = { uid: 'y', before: OLD, events: [{ hash: NEW, at: T0 + 2500, status: 'FAILED', ackAt: T0 + 2700 }] };
    const b = rollbackFigures(conditions, [canary('a', T0 + 2200), late], NEW);
    expect(b.gotNewHash).toBe(2);
    expect(b.gotNewHashLater).toBe(1);
  });
});
