import { AgentLiveness, connectedAt, HTTP_MISSED_POLLS } from './agent-liveness';

describe('AgentLiveness: the one definition of "connected"', () => {
  const heartbeat = 30;
  const liveness = new AgentLiveness(heartbeat);
  const now = Date.parse('2026-01-01T12:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000);

  it.each([
    ['a WebSocket agent with its stream open', { connected: true, transport: 'websocket', lastSeenAt: ago(3600) }, true],
    ['a gRPC agent with its stream open', { connected: true, transport: 'grpc' }, true],
    ['a WebSocket agent whose stream closed', { connected: false, transport: 'websocket', lastSeenAt: ago(1) }, false],
    ['an HTTP agent that polled a moment ago', { connected: true, transport: 'http', lastSeenAt: ago(1) }, true],
    ['an HTTP agent exactly 3 intervals silent', { connected: true, transport: 'http', lastSeenAt: ago(3 * heartbeat) }, true],
    ['an HTTP agent past 3 intervals silent (not swept yet)', { connected: true, transport: 'http', lastSeenAt: ago(3 * heartbeat + 1) }, false],
    ['an HTTP agent stored as connected without a last poll', { connected: true, transport: 'http' }, false],
    ['an HTTP agent swept as disconnected', { connected: false, transport: 'http', lastSeenAt: ago(1) }, false],
    ['an agent never connected', undefined, false],
  ])('%s: connected=%s', (_what, facts, expected) => {
    expect(liveness.isConnected(facts, now)).toBe(expected);
    expect(connectedAt(facts, liveness.httpCutoff(now))).toBe(expected);
  });

  it('takes stored dates as Date, ISO text or epoch milliseconds alike', () => {
    const at = ago(10);
    for (const lastSeenAt of [at, at.toISOString(), at.getTime()]) expect(liveness.isConnected({ connected: true, transport: 'http', lastSeenAt }, now)).toBe(true);
  });

  it('gives HTTP agents HTTP_MISSED_POLLS heartbeat intervals of silence', () => {
    expect(HTTP_MISSED_POLLS).toBe(3);
    expect(liveness.httpSilenceMs).toBe(90_000);
    expect(liveness.httpCutoff(now).getTime()).toBe(now - 90_000);
  });

  it('sweeps once a heartbeat interval, at least every 10 s', () => {
    expect(new AgentLiveness(30).sweepEveryMs).toBe(10_000);
    expect(new AgentLiveness(10).sweepEveryMs).toBe(10_000);
    expect(new AgentLiveness(2).sweepEveryMs).toBe(2_000);
  });

  it('states the same rule as database filters: connected, and silent HTTP agents for the sweep', () => {
    const cutoff = liveness.httpCutoff(now);
    expect(liveness.connectedFilter(now)).toEqual({
      'connection.connected': true,
      $or: [{ 'connection.transport': { $ne: 'http' } }, { 'connection.lastSeenAt': { $gte: cutoff } }],
    });
    expect(liveness.silentHttpFilter(now)).toEqual({ 'connection.connected': true, 'connection.transport': 'http', 'connection.lastSeenAt': { $lt: cutoff } });
  });
});
