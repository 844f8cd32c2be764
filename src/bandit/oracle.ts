/**
 * Bradley–Terry preference oracle (paper §1.1): a1 ≻ a2 with probability σ((r(x,a1) − r(x,a2))/T).
 * Counts its queries so experiments can report label budgets.
 */
import { sigmoid } from '../math/special.js';
import type { Rng } from '../math/rng.js';
import { allocPairs, type BanditEnv, type PairData } from './env.js';
import { rewardsOf } from './policy.js';

export class PreferenceOracle {
  /** Number of comparisons answered so far. */
  queries = 0;
  /** r(x,a) for every flat action, precomputed once. */
  readonly rewards: Float64Array;

  constructor(
    readonly env: BanditEnv,
    readonly theta: Float64Array,
    readonly rng: Rng,
    readonly temperature = 1,
  ) {
    if (!(temperature > 0))
      throw new RangeError(`PreferenceOracle: temperature must be > 0, got ${temperature}`);
    this.rewards = rewardsOf(env, theta);
  }

  /** P(a1 ≻ a2 | x = context) under BT (local action indices). */
  probability(context: number, a1: number, a2: number): number {
    const base = this.env.offsets[context];
    return sigmoid((this.rewards[base + a1] - this.rewards[base + a2]) / this.temperature);
  }

  /** One noisy comparison: true when a1 is preferred. */
  prefers(context: number, a1: number, a2: number): boolean {
    this.queries++;
    return this.rng.uniform() < this.probability(context, a1, a2);
  }

  /** One comparison returned as (chosen, rejected) local indices. */
  label(context: number, a1: number, a2: number): { chosen: number; rejected: number } {
    return this.prefers(context, a1, a2) ? { chosen: a1, rejected: a2 } : { chosen: a2, rejected: a1 };
  }
}

/**
 * Cumulative probabilities per flat action (each context's slice ends at ~1), for O(log K)
 * inverse-CDF draws; cheaper than Gumbel-max when many actions are drawn from one policy.
 */
export function policyCdf(env: BanditEnv, logp: ArrayLike<number>): Float64Array {
  const A = env.offsets[env.nContexts];
  const cdf = new Float64Array(A);
  for (let c = 0; c < env.nContexts; c++) {
    let s = 0;
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) {
      s += Math.exp(logp[a]);
      cdf[a] = s;
    }
  }
  return cdf;
}

/** Binary search in cdf[lo..hi) for the first entry > u·total; returns the index minus lo. */
export function searchCdf(cdf: ArrayLike<number>, lo: number, hi: number, u: number): number {
  const total = cdf[hi - 1];
  const target = u * total;
  let a = lo;
  let b = hi - 1;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (cdf[m] > target) b = m;
    else a = m + 1;
  }
  return a - lo;
}

/** Context-weight CDF (d0) for fast sampling of many contexts. */
export function contextCdf(env: BanditEnv): Float64Array {
  const cdf = new Float64Array(env.nContexts);
  let s = 0;
  for (let c = 0; c < env.nContexts; c++) {
    s += env.weights[c];
    cdf[c] = s;
  }
  return cdf;
}

export interface SamplePairsOptions {
  /** Drop pairs where a1 == a2 instead of labelling them (then fewer than n pairs are returned). Default false. */
  dropTies?: boolean;
}

/**
 * Exactly n labelled comparisons with a1 ≠ a2 when the policies allow it: draws (x, a1, a2) until
 * n non-tied pairs are found or `maxDraws` draws were made (default 50·n). The first draws are
 * those of `samplePairs(…, {dropTies: true})`, so its pairs are a prefix of these. Returns the
 * pairs and how many draws were ties, so a caller can say why fewer than n came back.
 */
export function sampleDistinctPairs(
  env: BanditEnv,
  policy: ArrayLike<number>,
  n: number,
  oracle: PreferenceOracle,
  rng: Rng,
  maxDraws = 50 * n,
): { pairs: PairData; draws: number; ties: number } {
  const ccdf = contextCdf(env);
  const cdf = policyCdf(env, policy);
  const out = allocPairs(n);
  let m = 0;
  let draws = 0;
  while (m < n && draws < maxDraws) {
    draws++;
    const c = searchCdf(ccdf, 0, env.nContexts, rng.uniform());
    const lo = env.offsets[c];
    const hi = env.offsets[c + 1];
    const a1 = searchCdf(cdf, lo, hi, rng.uniform());
    const a2 = searchCdf(cdf, lo, hi, rng.uniform());
    if (a1 === a2) continue;
    const y = oracle.prefers(c, a1, a2);
    out.context[m] = c;
    out.chosen[m] = y ? a1 : a2;
    out.rejected[m] = y ? a2 : a1;
    m++;
  }
  const pairs =
    m === n
      ? out
      : {
          context: out.context.slice(0, m),
          chosen: out.chosen.slice(0, m),
          rejected: out.rejected.slice(0, m),
        };
  return { pairs, draws, ties: draws - m };
}

/**
 * n labelled comparisons: x ~ d0, a1 ~ π1(·|x), a2 ~ π2(·|x), label from the oracle. Ties (a1 == a2)
 * are kept by default so the empirical Σ matches its expectation; they carry no information.
 */
export function samplePairs(
  env: BanditEnv,
  policy1: ArrayLike<number>,
  policy2: ArrayLike<number>,
  n: number,
  oracle: PreferenceOracle,
  rng: Rng,
  opts: SamplePairsOptions = {},
): PairData {
  const ccdf = contextCdf(env);
  const cdf1 = policyCdf(env, policy1);
  const cdf2 = policy1 === policy2 ? cdf1 : policyCdf(env, policy2);
  const out = allocPairs(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const c = searchCdf(ccdf, 0, env.nContexts, rng.uniform());
    const lo = env.offsets[c];
    const hi = env.offsets[c + 1];
    const a1 = searchCdf(cdf1, lo, hi, rng.uniform());
    const a2 = searchCdf(cdf2, lo, hi, rng.uniform());
    if (opts.dropTies && a1 === a2) continue;
    const y = oracle.prefers(c, a1, a2);
    out.context[m] = c;
    out.chosen[m] = y ? a1 : a2;
    out.rejected[m] = y ? a2 : a1;
    m++;
  }
  return m === n
    ? out
    : {
        context: out.context.slice(0, m),
        chosen: out.chosen.slice(0, m),
        rejected: out.rejected.slice(0, m),
      };
}
