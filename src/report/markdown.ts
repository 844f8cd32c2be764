/** Small Markdown helpers for reports: tables and number formatting. */

export function mdTable(headers: string[], rows: (string | number)[][], align?: ('l' | 'r')[]): string {
  const a = align ?? headers.map((_, i) => (i === 0 ? 'l' : 'r'));
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  const sep = `|${a.map((x) => (x === 'r' ? '---:' : ':---')).join('|')}|`;
  return [line(headers), sep, ...rows.map(line)].join('\n');
}

/** Fixed significant digits without exponent noise for the usual ranges; exponent form for tiny/huge. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const ax = Math.abs(x);
  if (ax >= 1e5 || ax < 1e-3) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

/** Shown instead of an interval that one sample cannot give (t-interval half-width ∞ or NaN). */
export const NO_INTERVAL = '1 seed: no interval';

/** "mean ± half-width" for a 95% interval; "mean (1 seed: no interval)" when it is not finite. */
export function fmtCI(mean: number, halfWidth: number, digits = 3): string {
  if (!Number.isFinite(halfWidth)) return `${fmt(mean, digits)} (${NO_INTERVAL})`;
  return `${fmt(mean, digits)} ± ${fmt(halfWidth, 2)}`;
}

/** "lo to hi" for an interval, or "1 seed: no interval" when an end is not finite. */
export function fmtRange(lo: number, hi: number, digits = 3): string {
  return Number.isFinite(lo) && Number.isFinite(hi)
    ? `${fmt(lo, digits)} to ${fmt(hi, digits)}`
    : NO_INTERVAL;
}
