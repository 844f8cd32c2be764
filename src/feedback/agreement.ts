/**
 * Agreement between annotators on categorical labels, and the majority vote used to turn k
 * annotations of a pair into one verdict.
 *   - pairwiseAgreement: over items with ≥ 2 labels, the fraction of agreeing (unordered) label
 *     pairs, pooled over items: Σ_i Σ_c n_ic(n_ic − 1) / Σ_i n_i(n_i − 1).
 *   - fleissKappa (Fleiss 1971): items each rated by the same number n ≥ 2 of raters;
 *     κ = (P̄ − P̄e) / (1 − P̄e), P̄ = mean_i Σ_c n_ic(n_ic − 1) / (n(n − 1)), P̄e = Σ_c p_c².
 *   - cohenKappa: two raters on the same items; κ = (po − pe) / (1 − pe).
 * κ is NaN when chance agreement is 1 (every label the same category): undefined, not perfect.
 */
import type { Verdict } from './types.js';

function counts<T>(labels: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const l of labels) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

export function pairwiseAgreement<T>(items: readonly (readonly T[])[]): { agreement: number; pairs: number } {
  let agree = 0;
  let pairs = 0;
  for (const labels of items) {
    if (labels.length < 2) continue;
    for (const c of counts(labels).values()) agree += c * (c - 1);
    pairs += labels.length * (labels.length - 1);
  }
  return { agreement: pairs === 0 ? NaN : agree / pairs, pairs: pairs / 2 };
}

/** Items must all carry the same number of labels (≥ 2); others should be filtered out first. */
export function fleissKappa<T>(items: readonly (readonly T[])[]): number {
  if (items.length === 0) return NaN;
  const n = items[0].length;
  if (n < 2 || items.some((l) => l.length !== n)) {
    throw new Error('fleissKappa: every item needs the same number (≥ 2) of labels');
  }
  const total = new Map<T, number>();
  let pBar = 0;
  for (const labels of items) {
    let s = 0;
    for (const [c, k] of counts(labels)) {
      s += k * (k - 1);
      total.set(c, (total.get(c) ?? 0) + k);
    }
    pBar += s / (n * (n - 1));
  }
  pBar /= items.length;
  let pe = 0;
  for (const k of total.values()) pe += (k / (items.length * n)) ** 2;
  return pe === 1 ? NaN : (pBar - pe) / (1 - pe);
}

export function cohenKappa<T>(pairs: readonly (readonly [T, T])[]): number {
  if (pairs.length === 0) return NaN;
  const n = pairs.length;
  const c1 = counts(pairs.map((p) => p[0]));
  const c2 = counts(pairs.map((p) => p[1]));
  const po = pairs.filter(([x, y]) => x === y).length / n;
  let pe = 0;
  for (const [c, k] of c1) pe += (k / n) * ((c2.get(c) ?? 0) / n);
  return pe === 1 ? NaN : (po - pe) / (1 - pe);
}

/**
 * The verdict of k annotations: the most frequent one; when two or more verdicts share the top
 * count, 'tie' (no preference can be read off a split vote). Undefined for no votes.
 */
export function majorityVerdict(votes: Readonly<Record<Verdict, number>>): Verdict | undefined {
  const entries = (Object.entries(votes) as [Verdict, number][]).filter(([, c]) => c > 0);
  if (entries.length === 0) return undefined;
  const top = Math.max(...entries.map(([, c]) => c));
  const leaders = entries.filter(([, c]) => c === top);
  return leaders.length === 1 ? leaders[0][0] : 'tie';
}
