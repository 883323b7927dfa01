import { AgentCapabilities as Cap } from '../gen/opamp/v1/opamp_pb';
import { buildOffers } from './connection-settings-offers';

const caps = (...bits: number[]) => bits.reduce((a, b) => a | BigInt(b), 0n);
const ALL = caps(
  Cap.AgentCapabilities_AcceptsOpAMPConnectionSettings,
  Cap.AgentCapabilities_ReportsHeartbeat,
  Cap.AgentCapabilities_ReportsOwnMetrics,
  Cap.AgentCapabilities_ReportsOwnTraces,
);

describe('buildOffers: proxy connection settings', () => {
  const proxy = { url: 'http://proxy.internal:3128', connectHeaders: { 'Proxy-Authorization': 'Basic abc' } };

  it('carries the proxy, with its CONNECT headers, in the OpAMP and telemetry offers', () => {
    const built = buildOffers(
      {
        opamp: { endpoint: 'wss://opamp.example.com/v1/opamp', proxy },
        ownMetrics: { endpoint: 'http://otel:4318/v1/metrics', proxy: { url: 'https://p2:8443' } },
      },
      ALL,
      30,
    );
    expect(built?.offers.opamp?.proxy?.url).toBe('http://proxy.internal:3128');
    expect(built?.offers.opamp?.proxy?.connectHeaders?.headers.map((h) => [h.key, h.value])).toEqual([['Proxy-Authorization', 'Basic abc']]);
    expect(built?.offers.ownMetrics?.proxy?.url).toBe('https://p2:8443');
    expect(built?.offers.ownMetrics?.proxy?.connectHeaders).toBeUndefined();
  });

  it('changes the offer hash when only the proxy changes, so the agent is offered the new one', () => {
    const base = { ownTraces: { endpoint: 'http://otel:4318/v1/traces' } };
    const without = buildOffers(base, ALL, 30)!;
    const withProxy = buildOffers({ ownTraces: { ...base.ownTraces, proxy } }, ALL, 30)!;
    const otherHeaders = buildOffers(
      { ownTraces: { ...base.ownTraces, proxy: { ...proxy, connectHeaders: { 'Proxy-Authorization': 'Basic xyz' } } } },
      ALL,
      30,
    )!;
    expect(new Set([without.hashHex, withProxy.hashHex, otherHeaders.hashHex]).size).toBe(3);
    expect(without.offers.ownTraces?.proxy).toBeUndefined();
  });

  it('offers no proxy to an agent that cannot take the endpoint it belongs to', () => {
    const built = buildOffers({ ownLogs: { endpoint: 'http://otel:4318/v1/logs', proxy } }, ALL, 30);
    expect(built).toBeUndefined();
  });
});
