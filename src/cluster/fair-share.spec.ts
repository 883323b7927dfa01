import { comparableOwnCount, fairShareSurplus, FairShareSettings, ReplicaShareView } from './fair-share';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const settings: FairShareSettings = { tolerancePercent: 10, toleranceMinAgents: 5, staleAfterMs: 3000, goneAfterMs: 20_000 };
const rec = (id: string, movableAgents: number | undefined, agoMs = 500, leaving = false): ReplicaShareView => ({
  id,
  movableAgents,
  heartbeatAt: new Date(NOW - agoMs),
  leaving,
});

describe('fairShareSurplus', () => {
  it('a replica holding every agent when a second one joins sheds down to the share plus the tolerance', () => {
    const v = fairShareSurplus('a', 1000, [rec('a', 1000), rec('b', 0)], settings, NOW);
    // share 500, tolerance max(5, 50) = 50
    expect(v).toEqual({ shed: 450, share: 500, total: 1000, live: 2, tolerance: 50 });
  });

  it('a scale-out from 2 to 3 replicas: each full one sheds its part, the new one nothing', () => {
    const fleet = [rec('a', 600), rec('b', 600), rec('c', 0)];
    expect(fairShareSurplus('a', 600, fleet, settings, NOW).shed).toBe(600 - 400 - 40);
    expect(fairShareSurplus('b', 600, fleet, settings, NOW).shed).toBe(160);
    expect(fairShareSurplus('c', 0, fleet, settings, NOW)).toMatchObject({ shed: 0, hold: 'within-tolerance' });
  });

  it('a small fleet within the minimum tolerance does not churn', () => {
    expect(fairShareSurplus('a', 8, [rec('a', 8), rec('b', 2)], settings, NOW)).toMatchObject({ shed: 0, hold: 'within-tolerance', share: 5, tolerance: 5 });
    expect(fairShareSurplus('a', 11, [rec('a', 11), rec('b', 0)], settings, NOW)).toMatchObject({ shed: 0, share: 6 });
    expect(fairShareSurplus('a', 12, [rec('a', 12), rec('b', 0)], settings, NOW).shed).toBe(1);
  });

  it('uses its own count now rather than its record', () => {
    expect(fairShareSurplus('a', 100, [rec('a', 10), rec('b', 0)], { ...settings, toleranceMinAgents: 0, tolerancePercent: 0 }, NOW).shed).toBe(50);
  });

  it('sheds nothing alone: no other live replica, or only gone or leaving ones', () => {
    expect(fairShareSurplus('a', 100, [rec('a', 100)], settings, NOW)).toMatchObject({ shed: 0, hold: 'alone', live: 1 });
    expect(fairShareSurplus('a', 100, [rec('a', 100), rec('b', 0, 25_000)], settings, NOW)).toMatchObject({ shed: 0, hold: 'alone' });
    expect(fairShareSurplus('a', 100, [rec('a', 100), rec('b', 0, 500, true)], settings, NOW)).toMatchObject({ shed: 0, hold: 'alone' });
  });

  it("a leaving replica's agents count for nobody's share", () => {
    // c shuts down with 300: a and b share what they hold, not c's (those reconnect on their own).
    const v = fairShareSurplus('a', 100, [rec('a', 100), rec('b', 100), rec('c', 300, 500, true)], settings, NOW);
    expect(v).toMatchObject({ shed: 0, total: 200, live: 2 });
  });

  it('sheds nothing when it is leaving itself (the shutdown drain moves everything)', () => {
    expect(fairShareSurplus('a', 100, [rec('a', 100, 500, true), rec('b', 0)], settings, NOW)).toMatchObject({ shed: 0, hold: 'leaving' });
  });

  it('sheds nothing while another live replica is stale or does not say how many movable agents it holds', () => {
    expect(fairShareSurplus('a', 100, [rec('a', 100), rec('b', 0, 5000)], settings, NOW)).toMatchObject({ shed: 0, hold: 'stale' });
    expect(fairShareSurplus('a', 100, [rec('a', 100), rec('b', undefined)], settings, NOW)).toMatchObject({ shed: 0, hold: 'stale' });
  });

  it('with no tolerance at all sheds down to exactly the rounded-up share', () => {
    const strict = { ...settings, tolerancePercent: 0, toleranceMinAgents: 0 };
    expect(fairShareSurplus('a', 7, [rec('a', 7), rec('b', 0)], strict, NOW).shed).toBe(3);
    expect(fairShareSurplus('a', 4, [rec('a', 4), rec('b', 3)], strict, NOW).shed).toBe(0);
  });
});

describe('comparableOwnCount (like with like: its own count as of the others’ records)', () => {
  const readings = [
    { at: NOW - 4000, n: 10 },
    { at: NOW - 2000, n: 60 },
    { at: NOW, n: 120 },
  ];

  it('during a ramp it takes its count from when the oldest peer record was written', () => {
    expect(comparableOwnCount(120, readings, NOW - 1500)).toBe(60);
    expect(comparableOwnCount(120, readings, NOW - 3000)).toBe(10);
    // Older than every reading: the oldest reading kept.
    expect(comparableOwnCount(120, readings, NOW - 60_000)).toBe(10);
  });

  it('never more than its count now, and its count now without readings or peers', () => {
    expect(comparableOwnCount(5, readings, NOW - 1500)).toBe(5);
    expect(comparableOwnCount(120, [], NOW - 1500)).toBe(120);
    expect(comparableOwnCount(120, readings, undefined)).toBe(120);
  });

  it('a ramp through a round-robin balancer leaves no surplus to shed; a real one still shows', () => {
    // Both gain agents alike; b recorded 1.5 s ago (75), a holds 150 now and held 50 at its reading 2 s ago.
    const mine = comparableOwnCount(
      150,
      [
        { at: NOW - 2000, n: 50 },
        { at: NOW, n: 150 },
      ],
      NOW - 1500,
    );
    expect(fairShareSurplus('a', mine, [rec('a', 150, 0), rec('b', 75, 1500)], settings, NOW).shed).toBe(0);
    expect(fairShareSurplus('a', 150, [rec('a', 150, 0), rec('b', 75, 1500)], settings, NOW).shed).toBeGreaterThan(0);
  });
});
