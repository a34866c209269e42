/**
 * A table of name/count rows with a proportional bar, readable as a plain table by assistive tech.
 * Bar widths are set through the CSSOM (React's style prop), which the strict CSP allows.
 */
import { formatCount } from '../format.js';

interface BarListProps {
  caption: string;
  nameHeader: string;
  rows: ReadonlyArray<{ name: string; count: number }>;
  empty: string;
  testId?: string;
  rowTestId?: string;
  /** Names are identifiers (event kinds): set them in monospace. */
  mono?: boolean;
}

export function BarList({ caption, nameHeader, rows, empty, testId, rowTestId, mono = false }: BarListProps) {
  const max = rows.reduce((m, r) => Math.max(m, r.count), 0);
  if (rows.length === 0) {
    return (
      <p className="empty" data-testid={testId}>
        {empty}
      </p>
    );
  }
  return (
    <table className="table bar-table" data-testid={testId}>
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{nameHeader}</th>
          <th scope="col" className="num">
            Count
          </th>
          <th scope="col" className="bar-col">
            <span className="visually-hidden">Share</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name} data-testid={rowTestId} data-name={r.name} data-count={r.count}>
            <th scope="row" className={mono ? 'mono' : undefined}>
              {r.name}
            </th>
            <td className="num">{formatCount(r.count)}</td>
            <td className="bar-col" aria-hidden="true">
              <span className="bar">
                <span
                  className="bar-fill"
                  style={{ width: `${max ? Math.max(2, (r.count / max) * 100) : 0}%` }}
                />
              </span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
