/**
 * The verdict engine of every report (the bandit lab's and the LM miniature's). Each rule is a pure
 * function of per-seed paired numbers — one number per seed, the difference "A − B" oriented so
 * that a positive value is what the claim asserts — judged by a two-sided 95% Student-t interval:
 *
 *   - superiority ("A beats B"): interval above 0 → supported, below 0 → contradicted, inside
 *     ±margin → equivalent (a decisive null), otherwise inconclusive;
 *   - non-inferiority ("A is at least as good as B"): lower end > −margin → supported; upper end
 *     < −margin → contradicted (A is worse by more than the margin); otherwise inconclusive;
 *   - equivalence ("A and B are the same within ±margin", TOST): interval inside ±margin →
 *     supported; interval wholly outside it → contradicted; otherwise inconclusive. The 95%
 *     interval inside ±margin is the two one-sided tests at α = 0.025 each (stricter than the
 *     usual 90% interval, so "equivalent" means the same thing here as in `superiority`);
 *   - bounds ("the mean lies in [min, max]", e.g. an absolute rate exponent);
 *   - dominance of curves point by point (an interval at each comparison point);
 *   - trend ("y grows with x"): per-seed least-squares slopes, judged as superiority;
 *   - fitted curves compared between methods: per-seed slope and level of a least-squares line
 *     (on log-log data: the rate exponent and the log-gap at a reference x), paired by seed.
 *
 * `margin = 0` means "no equivalence band": superiority then never says equivalent, and
 * non-inferiority becomes the plain one-sided test. Every inconclusive judgement carries
 * `seedsToDecide`: how many seeds the same mean and spread would need for the interval to decide
 * (either side, or equivalence), so a report can say what a decision would cost.
 *
 * Claim notes: a hand-written note carries a fingerprint of the numbers it was written beside;
 * when the current numbers give another fingerprint the report marks it stale.
 */
import { createHash } from 'node:crypto';
import { linearFit, meanCI95, std, tQuantile } from './stats.js';

export type Verdict = 'supported' | 'contradicted' | 'equivalent' | 'mixed' | 'inconclusive' | 'no data';

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

export interface Judgement extends Interval {
  verdict: Verdict;
  /** For an inconclusive judgement: seeds the same mean and spread would need to decide (∞: never). */
  seedsToDecide?: number;
}

function interval(xs: readonly number[]): Interval {
  const c = meanCI95(xs);
  return { mean: c.mean, lo: c.lo, hi: c.hi, n: xs.length };
}

function checkMargin(margin: number): void {
  if (!(margin >= 0 && Number.isFinite(margin)))
    throw new RangeError(`verdicts: the equivalence margin must be a finite number ≥ 0, got ${margin}`);
}

const noData = (n: number): Judgement => ({ verdict: 'no data', mean: NaN, lo: NaN, hi: NaN, n });

/**
 * Smallest n ≥ 2 whose 95% half-width t_{0.975,n−1}·sd/√n is below `target` (∞ if target ≤ 0 or
 * beyond 10⁶ seeds). The half-width decreases in n, so doubling then bisection finds it.
 */
export function seedsForHalfWidth(sd: number, target: number): number {
  if (!(target > 0)) return Infinity;
  if (sd === 0) return 2;
  const hw = (n: number) => (tQuantile(0.975, n - 1) * sd) / Math.sqrt(n);
  let hi = 2;
  while (hw(hi) >= target) {
    hi *= 2;
    if (hi > 1e6) return Infinity;
  }
  let lo = hi === 2 ? 1 : hi / 2; // hw(lo) ≥ target (or lo = 1, below the domain)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (hw(mid) < target) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The fewest seeds at which any of the `targets` half-widths would be reached. */
function seedsToDecide(xs: readonly number[], targets: number[]): number {
  const sd = std(xs);
  return Math.min(...targets.map((t) => seedsForHalfWidth(sd, t)));
}

/** "A beats B" from paired differences A − B (one per seed). */
export function superiority(diffs: readonly number[], margin: number): Judgement {
  checkMargin(margin);
  if (diffs.length < 2) return noData(diffs.length);
  const c = interval(diffs);
  const verdict: Verdict =
    c.lo > 0
      ? 'supported'
      : c.hi < 0
        ? 'contradicted'
        : c.lo > -margin && c.hi < margin
          ? 'equivalent'
          : 'inconclusive';
  if (verdict !== 'inconclusive') return { verdict, ...c };
  const m = Math.abs(c.mean);
  return { verdict, ...c, seedsToDecide: seedsToDecide(diffs, [m, margin - m]) };
}

/** "A is at least as good as B" (non-inferiority at −margin) from paired differences A − B. */
export function nonInferiority(diffs: readonly number[], margin: number): Judgement {
  checkMargin(margin);
  if (diffs.length < 2) return noData(diffs.length);
  const c = interval(diffs);
  const verdict: Verdict = c.lo > -margin ? 'supported' : c.hi < -margin ? 'contradicted' : 'inconclusive';
  if (verdict !== 'inconclusive') return { verdict, ...c };
  const d = c.mean + margin;
  return { verdict, ...c, seedsToDecide: seedsToDecide(diffs, [Math.abs(d)]) };
}

/** "A and B are equivalent within ±margin" (TOST on the 95% interval) from paired differences. */
export function equivalence(diffs: readonly number[], margin: number): Judgement {
  checkMargin(margin);
  if (!(margin > 0)) throw new RangeError('verdicts: an equivalence claim needs a margin > 0');
  if (diffs.length < 2) return noData(diffs.length);
  const c = interval(diffs);
  const verdict: Verdict =
    c.lo > -margin && c.hi < margin
      ? 'supported'
      : c.lo > margin || c.hi < -margin
        ? 'contradicted'
        : 'inconclusive';
  if (verdict !== 'inconclusive') return { verdict, ...c };
  const m = Math.abs(c.mean);
  return { verdict, ...c, seedsToDecide: seedsToDecide(diffs, [margin - m, m - margin]) };
}

/**
 * "The mean of `values` lies in [min, max]" (either end may be ±∞): the whole interval inside →
 * supported; the whole interval outside → contradicted; straddling an end → inconclusive.
 */
export function withinBounds(values: readonly number[], bounds: { min?: number; max?: number }): Judgement {
  if (values.length < 2) return noData(values.length);
  const min = bounds.min ?? -Infinity;
  const max = bounds.max ?? Infinity;
  const c = interval(values);
  const verdict: Verdict =
    c.hi <= max && c.lo >= min ? 'supported' : c.lo > max || c.hi < min ? 'contradicted' : 'inconclusive';
  if (verdict !== 'inconclusive') return { verdict, ...c };
  const dist = Math.min(Math.abs(c.mean - min), Math.abs(c.mean - max));
  return { verdict, ...c, seedsToDecide: seedsToDecide(values, [dist]) };
}

/**
 * "Curve A dominates curve B": `points[k]` holds the per-seed paired differences (A − B, e.g.
 * reward at matched KL) at comparison point k.
 */
export function dominancePointwise(
  points: readonly (readonly number[])[],
  margin: number,
): { verdict: Verdict; points: Interval[]; above: number; below: number } {
  checkMargin(margin);
  const ivs = points.filter((p) => p.length >= 2).map(interval);
  if (ivs.length === 0) return { verdict: 'no data', points: [], above: 0, below: 0 };
  const above = ivs.filter((c) => c.lo > 0).length;
  const below = ivs.filter((c) => c.hi < 0).length;
  const verdict: Verdict =
    above === ivs.length
      ? 'supported'
      : below > 0
        ? 'contradicted'
        : ivs.every((c) => c.lo > -margin && c.hi < margin)
          ? 'equivalent'
          : 'inconclusive';
  return { verdict, points: ivs, above, below };
}

/**
 * "y grows over x": `series[s]` are seed s's values at positions `x` (e.g. iterations 0..T, 0 = π0).
 * Each seed's least-squares slope; the verdict is on the interval of the slopes over seeds.
 */
export function trend(
  x: readonly number[],
  series: readonly (readonly number[])[],
  margin: number,
): Judgement & { slopes: number[] } {
  checkMargin(margin);
  const slopes = series.filter((ys) => ys.length === x.length).map((ys) => linearFit(x, ys).slope);
  return { ...superiority(slopes, margin), slopes };
}

// ---------------------------------------------------------------------------------------------
// Fitted lines compared between methods (rates and levels)

/** One seed's points of one method, e.g. x = log(labels), y = log(gap). */
export interface SeedCurve {
  x: readonly number[];
  y: readonly number[];
}

/** The least-squares line of one seed's points: its slope and its value at `xRef`. */
export function slopeAndLevel(c: SeedCurve, xRef: number): { slope: number; level: number } {
  const f = linearFit(c.x, c.y);
  return { slope: f.slope, level: f.intercept + f.slope * xRef };
}

/**
 * Per-seed differences A − B of fitted slopes and of fitted levels at `xRef`, for curves paired
 * by index (entry s of `a` and of `b` are the same seed). Seeds with fewer than 2 points in
 * either method are dropped. Judge the results with `superiority`, `nonInferiority` or
 * `equivalence`.
 */
export function fitDifferences(
  a: readonly SeedCurve[],
  b: readonly SeedCurve[],
  xRef: number,
): { slope: number[]; level: number[] } {
  if (a.length !== b.length) throw new RangeError(`fitDifferences: ${a.length} seeds vs ${b.length}`);
  const slope: number[] = [];
  const level: number[] = [];
  for (let s = 0; s < a.length; s++) {
    if (a[s].x.length < 2 || b[s].x.length < 2) continue;
    const fa = slopeAndLevel(a[s], xRef);
    const fb = slopeAndLevel(b[s], xRef);
    slope.push(fa.slope - fb.slope);
    level.push(fa.level - fb.level);
  }
  return { slope, level };
}

/** Paired differences a − b over the keys (seeds) both maps hold, in ascending key order. */
export function pairedDifferences(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): number[] {
  return [...a.keys()]
    .filter((k) => b.has(k))
    .sort((p, q) => p - q)
    .map((k) => (a.get(k) as number) - (b.get(k) as number));
}

// ---------------------------------------------------------------------------------------------
// Claim notes tied to the numbers they were written for

/** A claim note as written in the config: plain text, or text plus the fingerprint it was written beside. */
export type ClaimNote = string | { text: string; fingerprint: string };

/** Fingerprint of the numbers behind a verdict: each rounded to 3 significant digits, hashed. */
export function fingerprint(numbers: readonly number[]): string {
  const canon = numbers.map((v) => (Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : String(v)));
  return createHash('sha256').update(canon.join('|')).digest('hex').slice(0, 10);
}

export type NoteStatus = 'current' | 'stale' | 'unpinned';

/** Is the note still about these numbers? 'unpinned' = a plain-text note with no fingerprint. */
export function noteStatus(note: ClaimNote, current: string): { status: NoteStatus; text: string } {
  if (typeof note === 'string') return { status: 'unpinned', text: note };
  return { status: note.fingerprint === current ? 'current' : 'stale', text: note.text };
}
