/** Small-sample statistics for experiment reports: means, Student-t confidence intervals, quantiles, log-log fits. */
import { incompleteBeta } from './special.js';

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Unbiased sample variance (n − 1 denominator); NaN for n < 2. Two-pass for accuracy. */
export function variance(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < n; i++) s += (xs[i] - m) ** 2;
  return s / (n - 1);
}

export function std(xs: ArrayLike<number>): number {
  return Math.sqrt(variance(xs));
}

/** Student-t CDF with ν degrees of freedom (via the regularised incomplete beta; exact to ~1e-14). */
export function tCdf(t: number, nu: number): number {
  if (!(nu > 0)) throw new RangeError(`tCdf: degrees of freedom must be > 0, got ${nu}`);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const x = nu / (nu + t * t);
  const tail = 0.5 * incompleteBeta(x, nu / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Student-t quantile t_{p,ν}: bisection on the exact CDF (monotone, so bisection is safe and exact to 1e-12). */
export function tQuantile(p: number, nu: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile: p must be in (0,1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, nu);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, nu) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (tCdf(mid, nu) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

export interface MeanCI {
  mean: number;
  lo: number;
  hi: number;
  halfWidth: number;
  n: number;
}

/** Two-sided 95% Student-t interval for the mean. n = 1 gives an infinite half-width; n = 0 gives NaNs. */
export function meanCI95(xs: ArrayLike<number>): MeanCI {
  const n = xs.length;
  const m = mean(xs);
  if (n < 2) {
    const hw = n === 1 ? Infinity : NaN;
    return { mean: m, lo: m - hw, hi: m + hw, halfWidth: hw, n };
  }
  const halfWidth = (tQuantile(0.975, n - 1) * std(xs)) / Math.sqrt(n);
  return { mean: m, lo: m - halfWidth, hi: m + halfWidth, halfWidth, n };
}

/** Quantile with linear interpolation between order statistics (numpy's default, "type 7"). */
export function quantile(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0,1], got ${q}`);
  const s = Float64Array.from(xs).sort();
  const h = (s.length - 1) * q;
  const i = Math.floor(h);
  const f = h - i;
  return i + 1 < s.length ? s[i] + f * (s[i + 1] - s[i]) : s[i];
}

export interface LinearFit {
  slope: number;
  intercept: number;
  r2: number;
}

/** Ordinary least squares y ≈ slope·x + intercept (use on log-log data for rate exponents). */
export function linearFit(x: ArrayLike<number>, y: ArrayLike<number>): LinearFit {
  const n = x.length;
  if (n !== y.length) throw new RangeError(`linearFit: x has ${n} points, y has ${y.length}`);
  if (n < 2) throw new RangeError('linearFit: need at least 2 points');
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2 };
}

/**
 * Piecewise-linear interpolation of a curve sorted by x: the y at `x`, or null outside the
 * curve's x range (no extrapolation). Repeated x values give the first point's y.
 * `interpolate(pts, 2, (p) => p.kl, (p) => p.reward)`.
 */
export function interpolate<T>(
  curve: readonly T[],
  x: number,
  xOf: (p: T) => number,
  yOf: (p: T) => number,
): number | null {
  const n = curve.length;
  if (n === 0 || !(x >= xOf(curve[0])) || x > xOf(curve[n - 1])) return null;
  for (let i = 1; i < n; i++) {
    const xb = xOf(curve[i]);
    if (x <= xb) {
      const xa = xOf(curve[i - 1]);
      const t = xb === xa ? 0 : (x - xa) / (xb - xa);
      return yOf(curve[i - 1]) + t * (yOf(curve[i]) - yOf(curve[i - 1]));
    }
  }
  return yOf(curve[n - 1]);
}
