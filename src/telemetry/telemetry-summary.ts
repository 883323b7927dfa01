import type { StoredOwnTelemetry } from '../agents/agent.schema';
import type { AgentCondition } from './agent-conditions';

/** What of an agent's own telemetry is stored on its document (Agent.ownTelemetry), without the time. */
export type OwnTelemetrySummary = Omit<StoredOwnTelemetry, 'at'>;

export interface SummaryRates {
  acceptedPerSecond: number;
  sentPerSecond: number;
  exportFailureRatio: number;
}

/** The summary of an agent's conditions and rates now. */
export function ownTelemetrySummary(conditions: AgentCondition[], rates: SummaryRates): OwnTelemetrySummary {
  return {
    conditions: conditions
      .filter((c) => c.status === 'True')
      .map((c) => c.type)
      .sort(),
    acceptedPerSecond: round(rates.acceptedPerSecond),
    sentPerSecond: round(rates.sentPerSecond),
    exportFailureRatio: round(rates.exportFailureRatio),
  };
}

/**
 * Whether a new summary is worth a database write: a condition turned on or off, or a rate moved
 * to another band. Rates are banded by powers of two (0, then [2^k, 2^(k+1))), the failure ratio
 * by tenths, so an agent whose traffic only wobbles is written a few times an hour, not at every
 * report, and a stored rate stays within a factor of two of the current one.
 */
export function summaryChanged(stored: OwnTelemetrySummary | undefined, next: OwnTelemetrySummary): boolean {
  if (!stored) return true;
  if (stored.conditions.join(',') !== next.conditions.join(',')) return true;
  return (
    rateBand(stored.acceptedPerSecond) !== rateBand(next.acceptedPerSecond) ||
    rateBand(stored.sentPerSecond) !== rateBand(next.sentPerSecond) ||
    Math.floor(stored.exportFailureRatio * 10) !== Math.floor(next.exportFailureRatio * 10)
  );
}

/** 0 for no items; else 1 + floor(log2(rate)), so 0.5/s and 1/s and 1,000/s fall in different bands. */
export function rateBand(rate: number): number {
  return rate > 0 && Number.isFinite(rate) ? 1 + Math.floor(Math.log2(rate)) : 0;
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : 0;
}
