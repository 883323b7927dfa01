import { formatAge, humanDuration, parseDuration } from './human-time';

describe('ages and durations', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  const ago = (ms: number) => new Date(now - ms).toISOString();

  it('shows ages the way kubectl does', () => {
    expect(formatAge(ago(0), now)).toBe('0s');
    expect(formatAge(ago(45_000), now)).toBe('45s');
    expect(formatAge(ago(119_000), now)).toBe('119s');
    expect(formatAge(ago(3 * 60_000), now)).toBe('3m');
    expect(formatAge(ago(3 * 60_000 + 20_000), now)).toBe('3m20s');
    expect(formatAge(ago(45 * 60_000), now)).toBe('45m');
    expect(formatAge(ago(2 * 3_600_000), now)).toBe('120m');
    expect(formatAge(ago(3 * 3_600_000 + 5 * 60_000), now)).toBe('3h5m');
    expect(formatAge(ago(20 * 3_600_000), now)).toBe('20h');
    expect(formatAge(ago(50 * 3_600_000), now)).toBe('2d2h');
    expect(formatAge(ago(30 * 86_400_000), now)).toBe('30d');
    expect(formatAge(ago(800 * 86_400_000), now)).toBe('2y70d');
    expect(humanDuration(10 * 365 * 86_400_000)).toBe('10y');
  });

  it('never shows a negative age and says when there is no time', () => {
    expect(formatAge(new Date(now + 60_000), now)).toBe('0s');
    expect(formatAge(undefined, now)).toBe('<unknown>');
    expect(formatAge('not a date', now)).toBe('<unknown>');
  });

  it('parses durations given on the command line', () => {
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2')).toBe(2000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('five')).toBeUndefined();
    expect(parseDuration('5x')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
});
