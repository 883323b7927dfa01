import { parseSelector } from './selector-parser';
import { matches, matchesAgent } from './selector-matcher';

const sel = parseSelector;

describe('matches', () => {
  const labels = { env: 'prod', os: 'linux', 'service.name': 'checkout' };

  it.each([
    ['', true],
    ['env=prod', true],
    ['env==prod', true],
    ['env=dev', false],
    ['env!=dev', true],
    ['env!=prod', false],
    ['missing!=x', true], // != and notin hold where the key is absent, as in Kubernetes
    ['os in (linux,darwin)', true],
    ['os in (darwin)', false],
    ['os notin (darwin)', true],
    ['os notin (linux)', false],
    ['missing notin (a)', true],
    ['service.name', true],
    ['missing', false],
    ['!missing', true],
    ['!env', false],
    ['env=prod,os=linux', true],
    ['env=prod,os=darwin', false],
  ])('%s → %s', (text, expected) => {
    expect(matches(sel(text), labels)).toBe(expected);
  });
});

describe('matchesAgent', () => {
  const agent = {
    labels: { team: 'payments' },
    description: {
      identifying: [
        { key: 'service.name', value: 'checkout' },
        { key: 'replicas', value: 3 },
      ],
      nonIdentifying: [
        { key: 'host.name', value: 'node-1' },
        { key: 'debug', value: true },
        { key: 'tags', value: ['a', 'b'] },
        { key: 'resource', value: { a: 1 } },
        { key: 'env', value: 'staging' },
      ],
    },
  };

  it.each([
    ['team=payments', true],
    ['service.name=checkout', true],
    ['host.name in (node-1,node-2)', true],
    ['replicas=3', true],
    ['replicas=3.0', false],
    ['debug=true', true],
    ['tags', true],
    ['tags=a', true], // an array holds a value when one of its elements is it
    ['tags=c', false],
    ['tags notin (b)', false],
    ['!tags', false],
    ['service.name!=checkout', false],
    ['resource', true], // present, although not a value a selector can compare
    ['resource=a', false],
    ['env=staging,team=payments,!missing', true],
  ])('%s → %s', (text, expected) => {
    expect(matchesAgent(sel(text), agent)).toBe(expected);
  });

  it('finds a key in any of the three places, and != holds only when none has the value', () => {
    const twice = { labels: { env: 'prod' }, description: { identifying: [], nonIdentifying: [{ key: 'env', value: 'staging' }] } };
    expect(matchesAgent(sel('env=prod'), twice)).toBe(true);
    expect(matchesAgent(sel('env=staging'), twice)).toBe(true);
    expect(matchesAgent(sel('env!=prod'), twice)).toBe(false);
  });

  it('treats an agent without description or labels as having no keys', () => {
    expect(matchesAgent(sel('!a,b!=c'), {})).toBe(true);
    expect(matchesAgent(sel('a'), { labels: null, description: null })).toBe(false);
  });
});
