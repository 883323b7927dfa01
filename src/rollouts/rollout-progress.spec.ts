import type { RolloutAgentFacts } from '../agents/agents.service';
import { progress, ProgressInput } from './rollout-progress';
import type { RolloutStatus, StoredRolloutSpec } from './rollout.schema';
import type { StoredPackageStatus } from '../agents/agent.schema';
import { packageTarget } from './package-progress';

const TO = 'aa'.repeat(32);
const t0 = new Date('2026-12-02T10:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

const fleet = (n: number, f: (i: number) => Partial<RolloutAgentFacts> = () => ({})): RolloutAgentFacts[] =>
  Array.from({ length: n }, (_, i) => ({
    uid: `agent-${i}`,
    connected: true,
    acceptsRemoteConfig: true,
    acceptsPackages: true,
    capabilities: 0,
    labels: {},
    ...f(i),
  }));
const applied = (hash = TO): Partial<RolloutAgentFacts> => ({ reported: { hash, status: 'APPLIED' } });
const failed: Partial<RolloutAgentFacts> = { reported: { hash: TO, status: 'FAILED', errorMessage: 'bad receiver' } };

const spec = (over: Partial<StoredRolloutSpec> = {}): StoredRolloutSpec => ({
  target: { group: 'web' },
  configs: [{ fileName: '', remoteConfig: 'v2', revision: 1 }],
  stages: [{ count: 1 }, { percent: 50 }, { percent: 100 }],
  applyTimeoutSeconds: 60,
  gates: [{ metric: 'applyFailed', maxRatio: 0 }],
  onGateTrip: 'rollback',
  ...over,
});
const started = (over: Partial<RolloutStatus> = {}): RolloutStatus => ({
  phase: 'Progressing',
  stage: 0,
  toHash: TO,
  stages: [],
  gates: [],
  conditions: [],
  failedAgents: [],
  ...over,
});
const input = (over: Partial<ProgressInput>): ProgressInput => ({
  name: 'r',
  spec: spec(),
  status: started(),
  reached: [],
  target: fleet(6),
  now: t0,
  ...over,
});

describe('rollout progress (one step, pure)', () => {
  it('a stage first reaches its agents, then waits for them to settle', () => {
    const first = progress(input({}));
    expect(first.reached).toHaveLength(1);
    expect(first.status.stageStartedAt).toEqual(t0);
    expect(first.status.conditions.map((c) => c.reason)).toEqual(['StageStarted']);
    const waiting = progress(input({ status: first.status, reached: first.reached, now: at(1) }));
    expect(waiting.status.phase).toBe('Progressing');
    expect(waiting.status.stages[0]).toEqual({ reached: 1, applied: 0, failed: 0, pending: 1 });
    expect(waiting.outcome).toBeUndefined();
  });

  it('all applied: the next stage; the last stage passed: succeeded', () => {
    const target = fleet(6, () => applied());
    const s1 = progress(input({ target, status: started({ stageStartedAt: t0 }), reached: ['x'].slice(0, 0) }));
    // Stage 0 first adds its canary, then passes on the next step.
    const s2 = progress(input({ target, status: s1.status, reached: s1.reached, now: at(1) }));
    expect(s2.status.stage).toBe(1);
    expect(s2.status.conditions.at(-1)?.reason).toBe('StagePassed');
    let step = s2;
    for (let k = 2; k < 10 && step.status.phase === 'Progressing'; k++)
      step = progress(input({ target, status: step.status, reached: step.reached, now: at(k) }));
    expect(step.outcome).toBe('succeeded');
    expect(step.status.phase).toBe('Succeeded');
    expect(step.reached).toHaveLength(6);
  });

  it('a canary that FAILED trips the gate and rolls back, naming the agent and its error', () => {
    const first = progress(input({}));
    const canary = first.reached[0];
    const target = fleet(6, (i) => (`agent-${i}` === canary ? failed : {}));
    const step = progress(input({ target, status: first.status, reached: first.reached, now: at(1) }));
    expect(step.outcome).toBe('rolledBack');
    expect(step.status.phase).toBe('RolledBack');
    expect(step.status.failedAgents).toEqual([{ uid: canary, error: 'bad receiver' }]);
    expect(step.status.conditions.at(-1)).toMatchObject({ reason: 'GateTripped', message: expect.stringContaining('applyFailed 1/1') });
  });

  it('onGateTrip pause pauses instead, and the overlay stays', () => {
    const first = progress(input({ spec: spec({ onGateTrip: 'pause' }) }));
    const target = fleet(6, (i) => (`agent-${i}` === first.reached[0] ? failed : {}));
    const step = progress(input({ spec: spec({ onGateTrip: 'pause' }), target, status: first.status, reached: first.reached, now: at(1) }));
    expect(step.outcome).toBeUndefined();
    expect(step.status.phase).toBe('Paused');
    // Resumed by hand (the service sets overriddenStage): the stage goes on past the tripped gate.
    const resumed = { ...step.status, phase: 'Progressing' as const, overriddenStage: 0 };
    const on = progress(input({ spec: spec({ onGateTrip: 'pause' }), target, status: resumed, reached: step.reached, now: at(2) }));
    expect(on.status.phase).toBe('Progressing');
    expect(on.status.conditions.map((c) => c.reason).slice(-2)).toEqual(['GateOverridden', 'StagePassed']);
    expect(on.status.stage).toBe(1);
  });

  it('an agent that has not applied by the apply timeout counts as failed', () => {
    const first = progress(input({}));
    const step = progress(input({ status: first.status, reached: first.reached, now: at(60) }));
    expect(step.status.phase).toBe('RolledBack');
    expect(step.status.failedAgents[0].error).toBe('did not apply the config in time');
  });

  it('a status for another hash is not an apply of this one', () => {
    const first = progress(input({}));
    const target = fleet(6, () => applied('bb'.repeat(32)));
    const step = progress(input({ target, status: first.status, reached: first.reached, now: at(1) }));
    expect(step.status.phase).toBe('Progressing');
    expect(step.status.stages[0].pending).toBe(1);
  });

  it('bakes after the gates pass, then goes on', () => {
    const target = fleet(6, () => applied());
    const s = spec({ stages: [{ count: 1, bakeSeconds: 30 }, { percent: 100 }] });
    const a = progress(input({ spec: s, target }));
    const b = progress(input({ spec: s, target, status: a.status, reached: a.reached, now: at(1) }));
    expect(b.status.conditions.at(-1)?.reason).toBe('Baking');
    const c = progress(input({ spec: s, target, status: b.status, reached: b.reached, now: at(20) }));
    expect(c.status.stage).toBe(0);
    const d = progress(input({ spec: s, target, status: c.status, reached: c.reached, now: at(31) }));
    expect(d.status.stage).toBe(1);
  });

  it('an approval stage pauses before reaching anyone, and goes on once approved', () => {
    const s = spec({ stages: [{ percent: 100, approval: true }] });
    const a = progress(input({ spec: s }));
    expect(a.status.phase).toBe('Paused');
    expect(a.reached).toEqual([]);
    expect(a.status.conditions.at(-1)?.reason).toBe('AwaitingApproval');
    const b = progress(input({ spec: s, status: { ...a.status, phase: 'Progressing', approvedStage: 0 } }));
    expect(b.reached).toHaveLength(6);
  });

  it('a stage selector picks only the agents it matches (ring=canary first)', () => {
    const target = fleet(6, (i) => ({ labels: { ring: i === 4 ? 'canary' : 'main' } }));
    const s = spec({ stages: [{ requirements: [{ key: 'ring', operator: 'In', values: ['canary'] }] }, { percent: 100 }] });
    const a = progress(input({ spec: s, target }));
    expect(a.reached).toEqual(['agent-4']);
  });

  it('geometric stages add batches of 1, 3, 9 … agents until everyone', () => {
    const target = fleet(10, () => applied());
    const s = spec({ stages: undefined, geometric: { initial: 1, multiplier: 3 } });
    let step = progress(input({ spec: s, target }));
    expect(step.status.stageCount).toBe(4);
    const sizes: number[] = [step.reached.length];
    for (let k = 1; k < 12 && step.status.phase === 'Progressing'; k++) {
      step = progress(input({ spec: s, target, status: step.status, reached: step.reached, now: at(k) }));
      if (sizes.at(-1) !== step.reached.length) sizes.push(step.reached.length);
    }
    expect(sizes).toEqual([1, 4, 10]);
    expect(step.status.phase).toBe('Succeeded');
  });

  it('picks only connected agents that accept remote config, and still judges a reached agent that went away', () => {
    const target = fleet(4, (i) => (i === 0 ? { connected: false } : i === 1 ? { acceptsRemoteConfig: false } : applied()));
    const s = spec({ stages: [{ percent: 100 }], gates: [{ metric: 'disconnected', maxRatio: 0 }] });
    const a = progress(input({ spec: s, target }));
    expect(a.reached.sort()).toEqual(['agent-2', 'agent-3']);
    expect(a.status.targetAgents).toBe(2);
    const gone = target.map((f) => (f.uid === 'agent-3' ? { ...f, connected: false } : f));
    const b = progress(input({ spec: s, target: gone, status: a.status, reached: a.reached, now: at(1) }));
    expect(b.status.phase).toBe('RolledBack');
    expect(b.status.failedAgents).toEqual([{ uid: 'agent-3', error: 'disconnected after applying' }]);
  });
});

describe('rollout progress of packages (one step, pure)', () => {
  const target = packageTarget('otelcol', '1.1.0', ['cd'.repeat(32)]);
  const HASH = target.hashes[0];
  const pkg = (over: Partial<StoredPackageStatus>): Partial<RolloutAgentFacts> => ({
    packages: [
      {
        name: 'otelcol',
        agentHasVersion: '1.0.0',
        agentHasHash: 'old',
        serverOfferedVersion: '1.1.0',
        serverOfferedHash: HASH,
        status: 'INSTALLING',
        errorMessage: '',
        ...over,
      },
    ],
  });
  const installed = pkg({ agentHasVersion: '1.1.0', agentHasHash: HASH, status: 'INSTALLED' });
  const pspec = spec({ configs: [], packages: [{ name: 'otelcol', version: '1.1.0' }], stages: [{ count: 1 }, { percent: 100 }] });
  // As read back from the database: a rollout of packages only has `toHash: null`.
  const pstatus = (over: Partial<RolloutStatus> = {}) =>
    started({ toHash: null as unknown as undefined, packageTargets: [target], stageStartedAt: t0, ...over });

  it('picks only agents that accept packages; the canary installing is pending, then installed passes the stage', () => {
    const fleetOf = (f: Partial<RolloutAgentFacts>) =>
      fleet(4, (i) => (i === 3 ? { acceptsPackages: false, acceptsRemoteConfig: false } : { acceptsRemoteConfig: false, ...f }));
    const first = progress(input({ spec: pspec, status: pstatus(), target: fleetOf(pkg({})) }));
    expect(first.status.targetAgents).toBe(3);
    expect(first.reached).toHaveLength(1);
    const waiting = progress(input({ spec: pspec, status: first.status, reached: first.reached, target: fleetOf(pkg({})), now: at(1) }));
    expect(waiting.status.stages[0]).toEqual({
      reached: 1,
      applied: 0,
      failed: 0,
      pending: 1,
      packages: { installed: 0, installing: 1, failed: 0, pending: 0 },
    });
    const passed = progress(input({ spec: pspec, status: waiting.status, reached: first.reached, target: fleetOf(installed), now: at(2) }));
    expect(passed.status.stage).toBe(1);
    expect(passed.status.stages[0]).toMatchObject({ applied: 1, packages: { installed: 1, installing: 0, failed: 0, pending: 0 } });
  });

  it('a canary reporting INSTALL_FAILED trips the failure gate: rolled back, with its install error', () => {
    const target6 = fleet(3, () => pkg({ status: 'INSTALL_FAILED', errorMessage: 'content hash mismatch' }));
    const first = progress(input({ spec: pspec, status: pstatus(), target: target6 }));
    const step = progress(input({ spec: pspec, status: first.status, reached: first.reached, target: target6, now: at(1) }));
    expect(step.outcome).toBe('rolledBack');
    expect(step.status.phase).toBe('RolledBack');
    expect(step.status.failedAgents).toEqual([{ uid: first.reached[0], error: 'otelcol 1.1.0: content hash mismatch' }]);
    expect(step.status.stages[0].packages).toEqual({ installed: 0, installing: 0, failed: 1, pending: 0 });
  });

  it('configs and packages together: an agent is done when both are', () => {
    const both = spec({ packages: [{ name: 'otelcol', version: '1.1.0' }], stages: [{ percent: 100 }] });
    const st = started({ packageTargets: [target], stageStartedAt: t0 });
    const onlyConfig = fleet(2, () => ({ ...applied(), ...pkg({}) }));
    const first = progress(input({ spec: both, status: st, target: onlyConfig }));
    const waiting = progress(input({ spec: both, status: first.status, reached: first.reached, target: onlyConfig, now: at(1) }));
    expect(waiting.status.stages[0]).toMatchObject({ applied: 0, pending: 2 });
    const done = fleet(2, () => ({ ...applied(), ...installed }));
    expect(progress(input({ spec: both, status: waiting.status, reached: first.reached, target: done, now: at(2) })).outcome).toBe('succeeded');
  });

  it('out of time while installing: failed, said so', () => {
    const slow = fleet(3, () => pkg({}));
    const first = progress(input({ spec: pspec, status: pstatus(), target: slow }));
    const late = progress(input({ spec: pspec, status: first.status, reached: first.reached, target: slow, now: at(61) }));
    expect(late.status.phase).toBe('RolledBack');
    expect(late.status.failedAgents[0].error).toBe('did not install the package in time');
  });
});

describe('rollout progress of connection settings (one step, pure)', () => {
  const H = 'ef'.repeat(32);
  const CAPS = 0x40 | 0x8000; // ReportsOwnMetrics, ReportsConnectionSettingsStatus
  const newSettings = { ownMetrics: { endpoint: 'http://collector:4318/v1/metrics' } };
  const cspec = spec({ configs: [], connectionSettings: newSettings, stages: [{ count: 1 }, { percent: 100 }] });
  // As read back from the database: a rollout of settings only has `toHash: null`.
  const cstatus = (over: Partial<RolloutStatus> = {}) =>
    started({ toHash: null as unknown as undefined, fromConnectionSettings: {}, stageStartedAt: t0, ...over });
  /** The agent holds the rollout's offer and reported `status` for it. */
  const offered = (status?: string, errorMessage = ''): Partial<RolloutAgentFacts> => ({
    capabilities: CAPS,
    connectionSettingsOffer: { lastSentHash: H, lastSentAt: t0, origin: 'group/web', rollout: 'r' },
    ...(status ? { connectionSettingsStatus: { lastConnectionSettingsHash: H, status, errorMessage } } : {}),
  });
  const notYet: Partial<RolloutAgentFacts> = { capabilities: CAPS, connectionSettingsOffer: { lastSentHash: 'old', lastSentAt: t0, origin: 'group/web' } };
  const step = (target: RolloutAgentFacts[], status: RolloutStatus, reached: string[], s: number, sp = cspec) =>
    progress(input({ spec: sp, status, reached, target, now: at(s) }));

  it('picks only agents that take the settings; the canary is pending, applying once offered, then APPLIED passes the stage', () => {
    const fleetOf = (f: Partial<RolloutAgentFacts>) =>
      fleet(4, (i) => (i === 3 ? { capabilities: 0x100, acceptsRemoteConfig: false } : { acceptsRemoteConfig: false, ...f }));
    const first = step(fleetOf(notYet), cstatus(), [], 0);
    expect(first.status.targetAgents).toBe(3);
    expect(first.reached).toHaveLength(1);
    expect(first.status.stages[0].connectionSettings).toEqual({ applied: 0, applying: 0, failed: 0, pending: 1 });
    const pending = step(fleetOf(notYet), first.status, first.reached, 1);
    expect(pending.status.stages[0]).toEqual({
      reached: 1,
      applied: 0,
      failed: 0,
      pending: 1,
      connectionSettings: { applied: 0, applying: 0, failed: 0, pending: 1 },
    });
    const applying = step(fleetOf(offered('APPLYING')), pending.status, first.reached, 2);
    expect(applying.status.stages[0].connectionSettings).toEqual({ applied: 0, applying: 1, failed: 0, pending: 0 });
    expect(applying.status.stage).toBe(0);
    const passed = step(fleetOf(offered('APPLIED')), applying.status, first.reached, 3);
    expect(passed.status.stage).toBe(1);
    expect(passed.status.stages[0]).toMatchObject({ applied: 1, connectionSettings: { applied: 1, applying: 0, failed: 0, pending: 0 } });
    let s = passed;
    for (let k = 4; k < 8 && s.status.phase === 'Progressing'; k++) s = step(fleetOf(offered('APPLIED')), s.status, s.reached, k);
    expect(s.outcome).toBe('succeeded');
    expect(s.status.conditions.at(-1)?.message).toBe('2 stages passed; 3 agents run the new connection settings');
  });

  it('a canary reporting FAILED trips the failure gate: rolled back, with its error', () => {
    const target = fleet(3, () => offered('FAILED', 'cannot reach collector'));
    const first = step(target, cstatus(), [], 0);
    const tripped = step(target, first.status, first.reached, 1);
    expect(tripped.outcome).toBe('rolledBack');
    expect(tripped.status.failedAgents).toEqual([{ uid: first.reached[0], error: 'connection settings: cannot reach collector' }]);
    expect(tripped.status.stages[0].connectionSettings).toEqual({ applied: 0, applying: 0, failed: 1, pending: 0 });
  });

  it('an agent without ReportsConnectionSettingsStatus counts as applied once it holds the offer', () => {
    const target = fleet(2, () => ({ ...offered(), capabilities: 0x40 }));
    const first = step(target, cstatus(), [], 0);
    expect(step(target, first.status, first.reached, 1).status.stage).toBe(1);
  });

  it('a canary sent new OpAMP settings that disconnects: no other agent is reached in its stead; never back, it fails at the timeout, said so', () => {
    const ospec = spec({
      configs: [],
      connectionSettings: { opamp: { endpoint: 'wss://nowhere/v1/opamp' } },
      stages: [{ count: 1 }, { percent: 100 }],
      gates: [
        { metric: 'applyFailed', maxRatio: 0 },
        { metric: 'disconnected', maxRatio: 0 },
      ],
    });
    const opampAgent = { ...offered(), capabilities: 0x100 | 0x8000 };
    const first = step(
      fleet(3, () => opampAgent),
      cstatus(),
      [],
      0,
      ospec,
    );
    const canary = first.reached[0];
    const gone = fleet(3, (i) => (`agent-${i}` === canary ? { ...opampAgent, connected: false } : opampAgent));
    const waiting = step(gone, first.status, first.reached, 1, ospec);
    expect(waiting.reached).toEqual([canary]);
    expect(waiting.status.phase).toBe('Progressing');
    const late = step(gone, waiting.status, waiting.reached, 61, ospec);
    expect(late.reached).toEqual([canary]);
    expect(late.outcome).toBe('rolledBack');
    expect(late.status.failedAgents).toEqual([
      { uid: canary, error: 'disconnected after it was sent the new connection settings, and did not report them applied' },
    ]);
    expect(late.status.gates.map((g) => [g.metric, g.agents, g.passed])).toEqual([
      ['applyFailed', 1, false],
      ['disconnected', 1, false],
    ]);
  });

  it('a canary that reported APPLIED and then disconnected trips the disconnected gate during the bake', () => {
    const bspec = spec({
      configs: [],
      connectionSettings: newSettings,
      stages: [{ count: 1, bakeSeconds: 60 }, { percent: 100 }],
      gates: [{ metric: 'disconnected', maxRatio: 0 }],
    });
    const ok = fleet(3, () => offered('APPLIED'));
    const first = step(ok, cstatus(), [], 0, bspec);
    const baking = step(ok, first.status, first.reached, 1, bspec);
    expect(baking.status.conditions.at(-1)?.reason).toBe('Baking');
    const gone = ok.map((f) => (f.uid === first.reached[0] ? { ...f, connected: false } : f));
    const tripped = step(gone, baking.status, baking.reached, 2, bspec);
    expect(tripped.outcome).toBe('rolledBack');
    expect(tripped.reached).toEqual(first.reached);
    expect(tripped.status.failedAgents).toEqual([{ uid: first.reached[0], error: 'disconnected after applying' }]);
  });

  it('configs and settings together: an agent is done when both are', () => {
    const both = spec({ connectionSettings: newSettings, stages: [{ percent: 100 }] });
    const st = started({ fromConnectionSettings: {}, stageStartedAt: t0 });
    const onlyConfig = fleet(2, () => ({ ...applied(), ...offered('APPLYING') }));
    const first = progress(input({ spec: both, status: st, target: onlyConfig }));
    const waiting = progress(input({ spec: both, status: first.status, reached: first.reached, target: onlyConfig, now: at(1) }));
    expect(waiting.status.stages[0]).toMatchObject({ applied: 0, pending: 2, connectionSettings: { applying: 2 } });
    const done = fleet(2, () => ({ ...applied(), ...offered('APPLIED') }));
    const ended = progress(input({ spec: both, status: waiting.status, reached: first.reached, target: done, now: at(2) }));
    expect(ended.outcome).toBe('succeeded');
    expect(ended.status.conditions.at(-1)?.message).toMatch(/run the new config and connection settings$/);
  });
});
