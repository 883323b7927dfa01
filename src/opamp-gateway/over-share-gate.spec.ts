import type { ReplicaShareView } from '../cluster/fair-share';
import { AdmissionControl } from './admission-control';
import { OverShareGate, REFUSALS_PER_SURPLUS_AGENT } from './over-share-gate';

const NOW = 1_000_000;
const SETTINGS = { staleAfterMs: 3000, goneAfterMs: 20_000 };
const peer = (id: string, movableAgents: number | undefined, ageMs = 0, leaving = false): ReplicaShareView => ({
  id,
  movableAgents,
  heartbeatAt: new Date(NOW - ageMs),
  leaving,
});

/** A replica "a" holding `held` agents, with a round under way: share 6 + tolerance 1, surplus 5, for 3 s. */
function gateOf(held: { n: number }, peers: ReplicaShareView[] = [peer('b', 0)], random = () => 0.5) {
  const gate = new OverShareGate('a', () => held.n, SETTINGS, random);
  gate.observe([peer('a', held.n), ...peers]);
  gate.open({ ceiling: 7, surplus: 5, until: NOW + 3000 });
  return gate;
}

describe('OverShareGate (new agents refused while a rebalance sheds the surplus)', () => {
  it('refuses a new WebSocket or gRPC agent while the replica holds at least its share plus the tolerance, with a retry of 1-2 s', () => {
    const held = { n: 12 };
    expect(gateOf(held, undefined, () => 0).decide('websocket', NOW)).toEqual({ refuse: true, retryAfterMs: 1000 });
    expect(gateOf(held, undefined, () => 0.999).decide('grpc', NOW)).toEqual({ refuse: true, retryAfterMs: 1999 });
    held.n = 7;
    expect(gateOf(held).decide('websocket', NOW)).toMatchObject({ refuse: true });
  });

  it('never refuses a plain-HTTP agent', () => {
    expect(gateOf({ n: 12 }).decide('http', NOW)).toEqual({ refuse: false, why: 'transport' });
  });

  it('lets agents in again once the replica holds less than its share plus the tolerance', () => {
    const held = { n: 12 };
    const gate = gateOf(held);
    expect(gate.decide('websocket', NOW).refuse).toBe(true);
    held.n = 6;
    expect(gate.decide('websocket', NOW)).toEqual({ refuse: false, why: 'within-share' });
  });

  it('is bounded in time: no refusal after the drain window plus the cooldown', () => {
    const gate = gateOf({ n: 12 });
    expect(gate.decide('websocket', NOW + 2999).refuse).toBe(true);
    expect(gate.decide('websocket', NOW + 3000)).toEqual({ refuse: false, why: 'expired' });
    // The round is over for good, even if the clock were to read earlier again.
    expect(gate.decide('websocket', NOW)).toEqual({ refuse: false, why: 'no-round' });
  });

  it(`is bounded in count: at most ${REFUSALS_PER_SURPLUS_AGENT} refusals per surplus agent in a round`, () => {
    const gate = gateOf({ n: 12 });
    const decisions = Array.from({ length: 100 }, () => gate.decide('websocket', NOW));
    expect(decisions.filter((d) => d.refuse)).toHaveLength(REFUSALS_PER_SURPLUS_AGENT * 5);
    expect(decisions.at(-1)).toEqual({ refuse: false, why: 'spent' });
    expect(gate.refusedThisRound).toBe(REFUSALS_PER_SURPLUS_AGENT * 5);
    // A new round has a new budget.
    gate.open({ ceiling: 7, surplus: 1, until: NOW + 3000 });
    expect(Array.from({ length: 10 }, () => gate.decide('grpc', NOW)).filter((d) => d.refuse)).toHaveLength(REFUSALS_PER_SURPLUS_AGENT);
  });

  it('refuses nothing before a round begins, nor after it is closed', () => {
    const gate = new OverShareGate('a', () => 12, SETTINGS);
    gate.observe([peer('b', 0)]);
    expect(gate.decide('websocket', NOW)).toEqual({ refuse: false, why: 'no-round' });
    gate.open({ ceiling: 7, surplus: 5, until: NOW + 3000 });
    gate.close();
    expect(gate.decide('websocket', NOW)).toEqual({ refuse: false, why: 'no-round' });
  });

  it('is off when the replica is alone: no other replica, only gone ones, or only leaving ones', () => {
    expect(gateOf({ n: 12 }, []).decide('websocket', NOW)).toEqual({ refuse: false, why: 'alone' });
    expect(gateOf({ n: 12 }, [peer('b', 0, 20_000)]).decide('websocket', NOW)).toEqual({ refuse: false, why: 'alone' });
    expect(gateOf({ n: 12 }, [peer('b', 0, 0, true)]).decide('websocket', NOW)).toEqual({ refuse: false, why: 'alone' });
  });

  it("is off when any live replica's record is stale or does not count movable agents", () => {
    expect(gateOf({ n: 12 }, [peer('b', 0), peer('c', 0, 3000)]).decide('websocket', NOW)).toEqual({ refuse: false, why: 'stale' });
    expect(gateOf({ n: 12 }, [peer('b', 0), peer('c', undefined)]).decide('websocket', NOW)).toEqual({ refuse: false, why: 'stale' });
    // Records age while no new ones are read (a database outage): the gate opens by itself.
    expect(gateOf({ n: 12 }).decide('websocket', NOW + 2999).refuse).toBe(true);
    const gate = gateOf({ n: 12 });
    gate.open({ ceiling: 7, surplus: 5, until: NOW + 60_000 });
    expect(gate.decide('websocket', NOW + 3000)).toEqual({ refuse: false, why: 'stale' });
  });

  it('is off when no other live replica has room (each holds the share plus the tolerance or more)', () => {
    expect(gateOf({ n: 12 }, [peer('b', 7), peer('c', 9)]).decide('websocket', NOW)).toEqual({ refuse: false, why: 'no-room' });
    expect(gateOf({ n: 12 }, [peer('b', 7), peer('c', 6)]).decide('websocket', NOW).refuse).toBe(true);
    // The latest records count: once the peer fills up, the gate opens.
    const gate = gateOf({ n: 12 });
    gate.observe([peer('b', 8)]);
    expect(gate.decide('websocket', NOW)).toEqual({ refuse: false, why: 'no-room' });
  });
});

describe('AdmissionControl with the over-share gate (one refusal path)', () => {
  const limits = { maxConnections: 100, perSecond: 2, retryAfterSeconds: 5 };

  /** As gateOf, on the real clock (admission control reads it). */
  const liveGate = () => {
    const gate = new OverShareGate(
      'a',
      () => 12,
      SETTINGS,
      () => 0.5,
    );
    gate.observe([{ id: 'b', movableAgents: 0, heartbeatAt: new Date() }]);
    gate.open({ ceiling: 7, surplus: 5, until: Date.now() + 60_000 });
    return gate;
  };

  it('answers an over-share refusal with its own reason and wait, counted, and takes no rate token for it', () => {
    const gate = liveGate();
    const refused: string[] = [];
    const admission = new AdmissionControl(
      limits,
      () => 12,
      gate,
      (t, r) => refused.push(`${t}:${r}`),
    );
    expect(admission.admit('websocket')).toMatchObject({ reason: 'over-share', retryAfterMs: 1500 });
    expect(admission.admit('grpc')).toMatchObject({ reason: 'over-share' });
    // HTTP passes the gate, and both rate tokens are still there.
    expect(admission.admit('http')).toBeUndefined();
    expect(admission.admit('http')).toBeUndefined();
    expect(admission.admit('http')).toMatchObject({ reason: 'rate', retryAfterMs: 5000 });
    expect(refused).toEqual(['websocket:over-share', 'grpc:over-share', 'http:rate']);
  });

  it('refuses for capacity before anything else', () => {
    const admission = new AdmissionControl({ ...limits, maxConnections: 12 }, () => 12, liveGate());
    expect(admission.admit('websocket')).toMatchObject({ reason: 'capacity', retryAfterMs: 5000 });
  });
});
