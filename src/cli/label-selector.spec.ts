import { UsageError } from './cli-errors';
import { matchesSelector, parseSelector } from './label-selector';

describe('client-side label selectors', () => {
  const labels = { env: 'prod', team: 'payments', tier: 'edge' };
  const match = (s: string) => matchesSelector(parseSelector(s), labels);

  it('understands every operator', () => {
    expect(match('env=prod')).toBe(true);
    expect(match('env==prod')).toBe(true);
    expect(match('env!=prod')).toBe(false);
    expect(match('env in (prod,staging)')).toBe(true);
    expect(match('env notin (prod)')).toBe(false);
    expect(match('team')).toBe(true);
    expect(match('!team')).toBe(false);
    expect(match('!missing')).toBe(true);
    expect(match('missing!=x')).toBe(true);
    expect(match('missing notin (x)')).toBe(true);
    expect(match('env=prod,tier in (edge, core),!debug')).toBe(true);
    expect(match('env=prod,tier=core')).toBe(false);
  });

  it('matches resources without labels', () => {
    expect(matchesSelector(parseSelector('!a'), undefined)).toBe(true);
    expect(matchesSelector(parseSelector('a'), undefined)).toBe(false);
    expect(matchesSelector(parseSelector(''), undefined)).toBe(true);
  });

  it('refuses malformed terms as usage errors', () => {
    expect(() => parseSelector('env in ()')).toThrow(UsageError);
    expect(() => parseSelector('a b c')).toThrow(/invalid selector term "a b c"/);
  });
});
