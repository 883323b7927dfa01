import { AgentLiveness, connectedAt, HTTP_MISSED_POLLS } from './agent-liveness';

describe('AgentLiveness: the one definition of "connected"', () => {
  const heartbeat = 30;
  // Stored polls may lag by min(15 s, heartbeat) + 0.5 s of write batching.
  const settings = { heartbeatIntervalSeconds: heartbeat, lastSeenWriteSeconds: 15, lastSeenFlushMs: 500, replicaTimeoutSeconds: 45 };
  const liveness = new AgentLiveness(settings);
  const now = Date.parse('2026-01-01T12:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000);
  const lag = 15.5;

  it.each([
    ['a WebSocket agent with its stream open', { connected: true, transport: 'websocket', lastSeenAt: ago(3600) }, true],
    ['a gRPC agent with its stream open', { connected: true, transport: 'grpc' }, true],
    ['a WebSocket agent whose stream closed', { connected: false, transport: 'websocket', lastSeenAt: ago(1) }, false],
    ['an HTTP agent that polled a moment ago', { connected: true, transport: 'http', lastSeenAt: ago(1) }, true],
    ['an HTTP agent stored 3 intervals plus the write lag ago', { connected: true, transport: 'http', lastSeenAt: ago(3 * heartbeat + lag) }, true],
    ['an HTTP agent stored longer ago (not swept yet)', { connected: true, transport: 'http', lastSeenAt: ago(3 * heartbeat + lag + 1) }, false],
    ['an HTTP agent stored as connected without a last poll', { connected: true, transport: 'http' }, false],
    ['an HTTP agent swept as disconnected', { connected: false, transport: 'http', lastSeenAt: ago(1) }, false],
    ['an agent never connected', undefined, false],
  ])('stored facts of %s: connected=%s', (_what, facts, expected) => {
    expect(liveness.isConnected(facts, now)).toBe(expected);
    expect(connectedAt(facts, liveness.storedHttpCutoff(now))).toBe(expected);
  });

  it('judges an exact (held) last poll by HTTP_MISSED_POLLS heartbeat intervals, a stored one with the write lag added', () => {
    expect(HTTP_MISSED_POLLS).toBe(3);
    expect(liveness.httpSilenceMs).toBe(90_000);
    expect(liveness.httpCutoff(now).getTime()).toBe(now - 90_000);
    expect(liveness.storedHttpCutoff(now).getTime()).toBe(now - 90_000 - 15_500);
    // The lag is at most one heartbeat interval of holding plus a flush.
    expect(new AgentLiveness({ ...settings, lastSeenWriteSeconds: 600 }).storedLagMs).toBe(30_500);
  });

  it('takes stored dates as Date, ISO text or epoch milliseconds alike', () => {
    const at = ago(10);
    for (const lastSeenAt of [at, at.toISOString(), at.getTime()])
      expect(liveness.isConnected({ connected: true, transport: 'http', lastSeenAt }, now)).toBe(true);
  });

  it('sweeps once a heartbeat interval, at least every 10 s', () => {
    expect(new AgentLiveness({ ...settings, heartbeatIntervalSeconds: 30 }).sweepEveryMs).toBe(10_000);
    expect(new AgentLiveness({ ...settings, heartbeatIntervalSeconds: 10 }).sweepEveryMs).toBe(10_000);
    expect(new AgentLiveness({ ...settings, heartbeatIntervalSeconds: 2 }).sweepEveryMs).toBe(2_000);
  });

  it('states the same rule as database filters: connected, and the silent HTTP agents each sweep takes', () => {
    const stored = liveness.storedHttpCutoff(now);
    expect(liveness.connectedFilter(now)).toEqual({
      'connection.connected': true,
      $or: [{ 'connection.transport': { $ne: 'http' } }, { 'connection.lastSeenAt': { $gte: stored } }],
    });
    // A replica sweeps the agents it serves by the exact rule (what it holds in memory is checked before it acts) ...
    expect(liveness.silentOwnHttpFilter('r1', now)).toEqual({
      'connection.connected': true,
      'connection.transport': 'http',
      'connection.replicaId': 'r1',
      'connection.lastSeenAt': { $lt: liveness.httpCutoff(now) },
    });
    // ... and the fleet-wide sweep takes only those no live replica serves: silent past the replica timeout as well.
    expect(liveness.silentOrphanHttpFilter(now)).toEqual({
      'connection.connected': true,
      'connection.transport': 'http',
      'connection.lastSeenAt': { $lt: new Date(stored.getTime() - 45_000) },
    });
  });
});
