/**
 * Verdict rules of the LM report, each a pure function of per-seed paired numbers:
 *   - superiority ("A beats B"): the 95% Student-t interval of the paired differences A − B lies
 *     above 0 → supported, below 0 → contradicted, inside ±margin → equivalent (a decisive null),
 *     otherwise inconclusive;
 *   - non-inferiority ("A is at least as good as B"): lower end > −margin → supported; upper end
 *     < −margin → contradicted (A is worse by more than the margin); otherwise inconclusive;
 *   - dominance of reward–KL curves point by point: at every comparison point the paired
 *     difference's interval must lie above 0 (supported); some interval below 0 → contradicted;
 *     every interval inside ±margin → equivalent; otherwise inconclusive;
 *   - trend ("grows over iterations"): the per-seed least-squares slope over the iterations, its
 *     interval above 0 → supported, below 0 → contradicted, inside ±margin → equivalent (flat);
 * and stale claim notes: a hand-written note carries a fingerprint of the numbers it was written
 * beside; when the current numbers give another fingerprint the report marks it stale.
 */
import { createHash } from 'node:crypto';
import { linearFit, meanCI95 } from '../math/stats.js';

export type Verdict = 'supported' | 'contradicted' | 'equivalent' | 'mixed' | 'inconclusive' | 'no data';

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

export interface Judgement extends Interval {
  verdict: Verdict;
}

function interval(xs: readonly number[]): Interval {
  const c = meanCI95(xs);
  return { mean: c.mean, lo: c.lo, hi: c.hi, n: xs.length };
}

function checkMargin(margin: number): void {
  if (!(margin > 0 && Number.isFinite(margin)))
    throw new RangeError(`verdicts: the equivalence margin must be a positive number, got ${margin}`);
}

/** "A beats B" from paired differences A − B (one per seed). */
export function superiority(diffs: readonly number[], margin: number): Judgement {
  checkMargin(margin);
  if (diffs.length < 2) return { verdict: 'no data', mean: NaN, lo: NaN, hi: NaN, n: diffs.length };
  const c = interval(diffs);
  const verdict: Verdict =
    c.lo > 0
      ? 'supported'
      : c.hi < 0
        ? 'contradicted'
        : c.lo > -margin && c.hi < margin
          ? 'equivalent'
          : 'inconclusive';
  return { verdict, ...c };
}

/** "A is at least as good as B" (non-inferiority at −margin) from paired differences A − B. */
export function nonInferiority(diffs: readonly number[], margin: number): Judgement {
  checkMargin(margin);
  if (diffs.length < 2) return { verdict: 'no data', mean: NaN, lo: NaN, hi: NaN, n: diffs.length };
  const c = interval(diffs);
  const verdict: Verdict = c.lo > -margin ? 'supported' : c.hi < -margin ? 'contradicted' : 'inconclusive';
  return { verdict, ...c };
}

/**
 * "Curve A dominates curve B": `points[k]` holds the per-seed paired differences (A − B, reward at
 * matched KL) at comparison point k.
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
