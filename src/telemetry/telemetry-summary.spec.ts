import type { AgentCondition } from './agent-conditions';
import { ownTelemetrySummary, rateBand, summaryChanged } from './telemetry-summary';

const cond = (type: AgentCondition['type'], status: AgentCondition['status']): AgentCondition => ({ type, status, reason: 'r', message: 'm' });
const quiet = { acceptedPerSecond: 0, sentPerSecond: 0, exportFailureRatio: 0 };

describe('own-telemetry summary (what lists filter on)', () => {
  it('keeps only the conditions that are True, in a stable order, and rounds the rates', () => {
    const s = ownTelemetrySummary([cond('Stale', 'Unknown'), cond('Idle', 'True'), cond('ExportFailing', 'True'), cond('Restarting', 'False')], {
      acceptedPerSecond: 10.12345,
      sentPerSecond: 1 / 3,
      exportFailureRatio: NaN,
    });
    expect(s).toEqual({ conditions: ['ExportFailing', 'Idle'], acceptedPerSecond: 10.123, sentPerSecond: 0.333, exportFailureRatio: 0 });
  });

  it('bands rates by powers of two: 0 apart, then each doubling', () => {
    expect([0, 0.6, 1, 1.9, 2, 3.9, 4, 1000].map(rateBand)).toEqual([0, 0, 1, 1, 2, 2, 3, 10]);
    expect(rateBand(-1)).toBe(0);
    expect(rateBand(Infinity)).toBe(0);
  });

  it('calls for a write on a first summary, a condition turning on or off, or a rate or the failure ratio changing band; not on a wobble', () => {
    const base = ownTelemetrySummary([], { acceptedPerSecond: 10, sentPerSecond: 10, exportFailureRatio: 0.01 });
    expect(summaryChanged(undefined, base)).toBe(true);
    expect(summaryChanged(base, ownTelemetrySummary([], { acceptedPerSecond: 14, sentPerSecond: 9, exportFailureRatio: 0.05 }))).toBe(false);
    expect(summaryChanged(base, ownTelemetrySummary([], { acceptedPerSecond: 17, sentPerSecond: 10, exportFailureRatio: 0.01 }))).toBe(true);
    expect(summaryChanged(base, ownTelemetrySummary([], { acceptedPerSecond: 10, sentPerSecond: 0, exportFailureRatio: 0.01 }))).toBe(true);
    expect(summaryChanged(base, ownTelemetrySummary([], { acceptedPerSecond: 10, sentPerSecond: 10, exportFailureRatio: 0.12 }))).toBe(true);
    expect(
      summaryChanged(base, ownTelemetrySummary([cond('Idle', 'True')], { ...quiet, acceptedPerSecond: 10, sentPerSecond: 10, exportFailureRatio: 0.01 })),
    ).toBe(true);
    expect(summaryChanged(base, ownTelemetrySummary([cond('Idle', 'False')], { acceptedPerSecond: 10, sentPerSecond: 10, exportFailureRatio: 0.01 }))).toBe(
      false,
    );
  });
});
