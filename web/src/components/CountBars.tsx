import type { ReactNode } from 'react';

/**
 * Counts as a table with a horizontal bar in each row (inline SVG, sized by attributes: the page's
 * CSP admits no style attributes of ours). The numbers are the table's text; the bars only draw them.
 */
export function CountBars({
  label,
  head,
  rows,
  total,
}: {
  label: string;
  head: [string, string];
  rows: { key: string; label: ReactNode; count: number; note?: ReactNode }[];
  /** The bar's full length stands for this many (default: the largest count). */
  total?: number;
}) {
  const max = Math.max(total ?? 0, ...rows.map((r) => r.count), 1);
  return (
    <div className="table-wrap">
      <table aria-label={label} className="count-bars">
        <thead>
          <tr>
            <th scope="col">{head[0]}</th>
            <th scope="col">{head[1]}</th>
            <th scope="col" className="bar-col">
              <span className="sr-only">Share</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <th scope="row">
                {r.label}
                {r.note}
              </th>
              <td className="num">{r.count}</td>
              <td className="bar-col">
                <svg viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="12" aria-hidden="true" focusable="false">
                  <rect x="0" y="0" width="100" height="10" className="bar-track" />
                  <rect x="0" y="0" width={(100 * r.count) / max} height="10" className="bar-fill" />
                </svg>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
