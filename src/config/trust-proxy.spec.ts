import { parseTrustProxy } from './trust-proxy';

describe('parseTrustProxy', () => {
  it('is off by default and for false', () => {
    expect(parseTrustProxy([])).toBe(false);
    expect(parseTrustProxy(['false'])).toBe(false);
  });

  it('takes any peer, a hop count, or a list of addresses, CIDRs and named ranges', () => {
    expect(parseTrustProxy(['*'])).toBe(true);
    expect(parseTrustProxy(['true'])).toBe(true);
    expect(parseTrustProxy(['2'])).toBe(2);
    expect(parseTrustProxy(['10.0.0.0/8', ' 192.168.1.7', 'fd00::/8', '::1', 'Loopback'])).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      'fd00::/8',
      '::1',
      'loopback',
    ]);
  });

  it.each([[['0']], [['65']], [['10.0.0.0/33']], [['::/129']], [['proxy.local']], [['10.0.0.1/8/2']], [['1', '2']], [['10.0.0.0/x']]])(
    'refuses %j',
    (entries) => {
      expect(parseTrustProxy(entries)).toHaveProperty('error');
    },
  );
});
