import { useId } from 'react';

const W = 480;
const H = 110;
const TOP = 8;
const BOTTOM = 94;

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above v (a round top for the axis). */
function roundUp(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A time of day (hours and minutes) `seconds` after `start`: the ends of the time axis. */
function clock(start: string, seconds: number): string {
  const t = new Date(new Date(start).getTime() + seconds * 1000);
  return Number.isNaN(t.getTime()) ? '' : t.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** The start time of bucket i in the reader's locale (time of day; the window is the last hour). */
function bucketTime(start: string, stepSeconds: number, i: number): string {
  const t = new Date(new Date(start).getTime() + i * stepSeconds * 1000);
  return Number.isNaN(t.getTime()) ? `bucket ${i + 1}` : t.toLocaleTimeString();
}

/**
 * A small time series as inline SVG: one value per bucket, oldest first, gaps where nothing was
 * reported (an isolated value is a dot). Drawn with attributes only (no style attributes: CSP).
 * The figure's caption says the latest value in words, and the picture has a text alternative
 * with the latest and highest values; a table of every reported value is one click away (a
 * details element), for readers who cannot see the picture.
 */
export function TimeSeriesChart({
  title,
  points,
  stepSeconds,
  start,
  latest,
  format,
}: {
  title: string;
  points: (number | null)[];
  stepSeconds: number;
  /** Start of the first bucket (ISO time): the table fallback names each bucket by its time. */
  start: string;
  /** The value to call latest (the API's current rate); default: the last point. */
  latest?: number | null;
  format: (v: number) => string;
}) {
  const id = useId();
  const known = points.filter((p): p is number => p !== null);
  const top = roundUp(Math.max(0, ...known));
  const n = Math.max(points.length, 2);
  const x = (i: number) => (i * W) / (n - 1);
  const y = (v: number) => BOTTOM - ((BOTTOM - TOP) * v) / top;
  const segments: string[] = [];
  const dots: { cx: number; cy: number }[] = [];
  let run: string[] = [];
  const flush = (last: number) => {
    if (run.length > 1) segments.push(`M${run.join('L')}`);
    else if (run.length === 1) dots.push({ cx: x(last), cy: y(points[last]!) });
    run = [];
  };
  points.forEach((p, i) => {
    if (p === null) flush(i - 1);
    else run.push(`${x(i).toFixed(1)},${y(p).toFixed(1)}`);
  });
  flush(points.length - 1);
  const last = latest !== undefined ? latest : [...points].reverse().find((p) => p !== null);
  const minutes = Math.round((points.length * stepSeconds) / 60);
  const words =
    known.length === 0
      ? `${title}: nothing reported in the last ${minutes} minutes`
      : `${title}: latest ${last === null || last === undefined ? 'not known' : format(last)}, highest ${format(Math.max(...known))} in the last ${minutes} minutes`;
  return (
    <figure className="chart" aria-labelledby={`${id}-cap`}>
      <figcaption id={`${id}-cap`}>
        <span className="chart-title">{title}</span>{' '}
        <span className="chart-latest" data-testid={`chart-latest-${title}`}>
          {last === null || last === undefined ? '—' : format(last)}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={words} data-testid={`chart-${title}`}>
        <title>{words}</title>
        <line x1="0" y1={BOTTOM} x2={W} y2={BOTTOM} className="chart-axis" />
        <line x1="0" y1={TOP} x2={W} y2={TOP} className="chart-grid" />
        <text x="2" y={TOP + 10} className="chart-label">
          {format(top)}
        </text>
        <text x="2" y={H - 2} className="chart-label">
          {clock(start, 0)}
        </text>
        <text x={W - 2} y={H - 2} textAnchor="end" className="chart-label">
          {clock(start, points.length * stepSeconds)}
        </text>
        {segments.map((d, i) => (
          <path key={i} d={d} className="chart-line" />
        ))}
        {dots.map((d, i) => (
          <circle key={i} cx={d.cx} cy={d.cy} r="3" className="chart-dot" />
        ))}
      </svg>
      <details className="chart-values">
        <summary>Values of {title}</summary>
        {known.length === 0 ? (
          <p>None reported.</p>
        ) : (
          <div className="table-wrap">
            <table aria-label={`${title}, values`}>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">{title}</th>
                </tr>
              </thead>
              <tbody>
                {points.map((p, i) =>
                  p === null ? null : (
                    <tr key={i}>
                      <th scope="row">{bucketTime(start, stepSeconds, i)}</th>
                      <td>{format(p)}</td>
                    </tr>
                  ),
                )}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </figure>
  );
}
