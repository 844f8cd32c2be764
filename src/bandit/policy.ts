/**
 * Exact policy quantities of the KL-regularised bandit, all in float64 and log space:
 * Gibbs policies π ∝ π0·exp(r/η), expected rewards, KL divergences, the objective
 * J(π) = E_x[E_{a~π} r − η·KL(π(·|x)‖π0(·|x))] and the paper's gap metric.
 */
import { GshfInputError, GshfNumericError } from '../math/errors.js';
import { fastExp, logSumExp } from '../math/special.js';
import { nativeOp } from '../native/index.js';
import type { BanditEnv } from './env.js';

/** r(x,a) = ⟨θ, φ(x,a)⟩ for every flat action. */
export function rewardsOf(env: BanditEnv, theta: ArrayLike<number>): Float64Array {
  const d = env.d;
  if (theta.length !== d)
    throw new GshfInputError(`rewardsOf: theta has length ${theta.length}, the environment has d = ${d}`);
  for (let j = 0; j < d; j++)
    if (!Number.isFinite(theta[j]))
      throw new GshfInputError(`rewardsOf: theta[${j}] is ${theta[j]}, expected a finite number`);
  const A = env.offsets[env.nContexts];
  const r = new Float64Array(A);
  const F = env.features;
  for (let a = 0; a < A; a++) {
    let s = 0;
    const o = a * d;
    for (let j = 0; j < d; j++) s += F[o + j] * theta[j];
    r[a] = s;
  }
  return r;
}

/**
 * Gibbs policy log π(a|x) = log π0(a|x) + r(x,a)/η − log Z(x), the exact maximiser of J for reward r
 * (paper §1.2). Log-sum-exp per context, so η → 0 or huge rewards do not overflow.
 */
/**
 * Public-entry check (O(1), so hot loops do not pay): a flat per-action array must have one entry
 * per action of `env`. Throws `GshfInputError` naming the function and the argument.
 */
export function requireFlat(env: BanditEnv, v: ArrayLike<number>, fn: string, what: string): void {
  const A = env.offsets[env.nContexts];
  if (v?.length !== A)
    throw new GshfInputError(
      `${fn}: ${what} has ${v?.length ?? 'no'} entries, the environment has ${A} actions (${env.nContexts} contexts, flat layout)`,
    );
}

function requireEta(eta: number, fn: string): void {
  if (!(eta > 0) || !Number.isFinite(eta))
    throw new GshfInputError(`${fn}: eta must be a finite number > 0, got ${eta}`);
}

export function gibbs(env: BanditEnv, rewards: ArrayLike<number>, eta: number = env.eta): Float64Array {
  requireEta(eta, 'gibbs');
  requireFlat(env, rewards, 'gibbs', 'rewards');
  const A = env.offsets[env.nContexts];
  const out = new Float64Array(A);
  for (let a = 0; a < A; a++) out[a] = env.refLogprobs[a] + rewards[a] / eta;
  normalizePerContext(env, out);
  return out;
}

export function gibbsOfTheta(env: BanditEnv, theta: ArrayLike<number>, eta: number = env.eta): Float64Array {
  return gibbs(env, rewardsOf(env, theta), eta);
}

/** Subtract each context's log-sum-exp in place (turns per-context logits into log-probabilities). */
export function normalizePerContext(env: BanditEnv, logits: Float64Array): Float64Array {
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) {
    const s = off[c];
    const len = off[c + 1] - s;
    const z = logSumExp(logits, s, len);
    if (!Number.isFinite(z))
      throw new GshfNumericError(
        z === Infinity
          ? `context ${c}: the log-probabilities overflow float64 (log-normaliser ${z}): rewards/η too large (check ‖θ‖, the features and η)`
          : `context ${c}: no finite log-probability (log-normaliser ${z}): the policy's logits are NaN or all −∞`,
      );
    for (let a = s; a < s + len; a++) logits[a] -= z;
  }
  return logits;
}

/** E_{a~π(·|x)} r(x,a) per context. */
export function expectedRewards(
  env: BanditEnv,
  logp: ArrayLike<number>,
  rewards: ArrayLike<number>,
): Float64Array {
  requireFlat(env, logp, 'expectedRewards', 'logp');
  requireFlat(env, rewards, 'expectedRewards', 'rewards');
  const out = new Float64Array(env.nContexts);
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) {
    let s = 0;
    for (let a = off[c]; a < off[c + 1]; a++) {
      const p = Math.exp(logp[a]);
      if (p > 0) s += p * rewards[a];
    }
    out[c] = s;
  }
  return out;
}

/** E_{x~d0} E_{a~π} r(x,a). */
export function expectedReward(env: BanditEnv, logp: ArrayLike<number>, rewards: ArrayLike<number>): number {
  return weightedSum(env, expectedRewards(env, logp, rewards));
}

/** KL(P(·|x) ‖ Q(·|x)) per context. Terms with P = 0 contribute 0; P > 0 = Q gives +∞. */
export function klPerContext(
  env: BanditEnv,
  logpP: ArrayLike<number>,
  logpQ: ArrayLike<number>,
): Float64Array {
  requireFlat(env, logpP, 'kl', 'the first policy (log-probabilities)');
  requireFlat(env, logpQ, 'kl', 'the second policy (log-probabilities)');
  const out = new Float64Array(env.nContexts);
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) {
    let s = 0;
    for (let a = off[c]; a < off[c + 1]; a++) {
      const lp = logpP[a];
      if (lp === -Infinity) continue;
      s += Math.exp(lp) * (lp - logpQ[a]);
    }
    // Rounding can make a true 0 slightly negative; KL ≥ 0 always.
    out[c] = s < 0 ? 0 : s;
  }
  return out;
}

/** E_{x~d0} KL(P(·|x) ‖ Q(·|x)). */
export function kl(env: BanditEnv, logpP: ArrayLike<number>, logpQ: ArrayLike<number>): number {
  return weightedSum(env, klPerContext(env, logpP, logpQ));
}

/** E_{x~d0} KL(π(·|x) ‖ π0(·|x)). */
export function klToRef(env: BanditEnv, logp: ArrayLike<number>): number {
  return kl(env, logp, env.refLogprobs);
}

/** J(π) = E_x[E_{a~π} r − η·KL(π‖π0)]. */
export function objective(
  env: BanditEnv,
  logp: ArrayLike<number>,
  rewards: ArrayLike<number>,
  eta: number = env.eta,
): number {
  requireEta(eta, 'objective');
  const er = expectedRewards(env, logp, rewards);
  const k = klPerContext(env, logp, env.refLogprobs);
  let s = 0;
  for (let c = 0; c < env.nContexts; c++) s += env.weights[c] * (er[c] - eta * k[c]);
  return s;
}

function requireThetaStar(env: BanditEnv, what: string): Float64Array {
  if (env.thetaStar === null)
    throw new Error(
      `${what}: environment '${env.name}' has no theta_star (ground truth unknown), so π* is undefined`,
    );
  return env.thetaStar;
}

/** True rewards r*(x,a) = ⟨θ*, φ(x,a)⟩ (throws if θ* is unknown). */
export function trueRewards(env: BanditEnv): Float64Array {
  return rewardsOf(env, requireThetaStar(env, 'trueRewards'));
}

/** π* = Gibbs(π0, r* / η). */
export function optimalPolicy(env: BanditEnv): Float64Array {
  return gibbs(env, rewardsOf(env, requireThetaStar(env, 'optimalPolicy')));
}

export interface GapMetric {
  /** J(π*) − J(π̂) + η·E_x KL(π*‖π̂): the quantity the paper's guarantees bound. */
  gap: number;
  /** J(π*) − J(π̂) ≥ 0. */
  suboptimality: number;
  /** E_x KL(π*(·|x) ‖ π̂(·|x)). */
  klStarToHat: number;
  jStar: number;
  jHat: number;
}

/** The paper's performance metric for π̂ under the true reward (needs θ*). */
export function gapMetric(env: BanditEnv, logpHat: ArrayLike<number>): GapMetric {
  requireFlat(env, logpHat, 'gapMetric', 'the policy (log-probabilities)');
  const r = trueRewards(env);
  const star = gibbs(env, r);
  const jStar = objective(env, star, r);
  const jHat = objective(env, logpHat, r);
  const klStarToHat = kl(env, star, logpHat);
  // J(π*) − J(π̂) = η·KL(π̂‖π*) ≥ 0 exactly; clamp the rounding noise so logs of the gap stay defined.
  const suboptimality = Math.max(0, jStar - jHat);
  return { gap: suboptimality + env.eta * klStarToHat, suboptimality, klStarToHat, jStar, jHat };
}

/** φ(x,π) = E_{a~π(·|x)} φ(x,a), nContexts × d. */
export function expectedFeatures(env: BanditEnv, logp: ArrayLike<number>, out?: Float64Array): Float64Array {
  requireFlat(env, logp, 'expectedFeatures', 'logp');
  const d = env.d;
  const res = out ?? new Float64Array(env.nContexts * d);
  res.fill(0);
  const off = env.offsets;
  const F = env.features;
  for (let c = 0; c < env.nContexts; c++) {
    const o = c * d;
    for (let a = off[c]; a < off[c + 1]; a++) {
      const p = Math.exp(logp[a]);
      if (p === 0) continue;
      const fa = a * d;
      for (let j = 0; j < d; j++) res[o + j] += p * F[fa + j];
    }
  }
  return res;
}

/** E_{x~d0} φ(x,π) (length d). */
export function meanFeature(env: BanditEnv, logp: ArrayLike<number>): Float64Array {
  const d = env.d;
  const ef = expectedFeatures(env, logp);
  const m = new Float64Array(d);
  for (let c = 0; c < env.nContexts; c++) {
    const w = env.weights[c];
    for (let j = 0; j < d; j++) m[j] += w * ef[c * d + j];
  }
  return m;
}

/** log(1/K_c) for every action. */
export function uniformPolicy(env: BanditEnv): Float64Array {
  const out = new Float64Array(env.offsets[env.nContexts]);
  for (let c = 0; c < env.nContexts; c++) {
    const s = env.offsets[c];
    const e = env.offsets[c + 1];
    out.fill(-Math.log(e - s), s, e);
  }
  return out;
}

/** Σ_c weights[c]·v[c]. */
export function weightedSum(env: BanditEnv, v: ArrayLike<number>): number {
  let s = 0;
  for (let c = 0; c < env.nContexts; c++) if (env.weights[c] !== 0) s += env.weights[c] * v[c];
  return s;
}

/** Everything the bandit lab's evaluation reports for a policy π̂ (all under the true reward r*). */
export interface PolicyEvaluation extends GapMetric {
  /** E_x KL(π̂(·|x) ‖ π0(·|x)). */
  klRef: number;
  /** E_x E_{a~π̂} r*(x,a). */
  rewardHat: number;
  /** E_x KL(π*(·|x) ‖ π0(·|x)). */
  klStarRef: number;
}

/** evaluateGibbsExact computes F·θ̂ with native dgemm from this d on (when the addon is loaded). */
const NATIVE_REWARDS_MIN_D = 16;

/**
 * F·θ by native dgemm when that measured faster than the JS dot products (which dominate at d = 32),
 * else null. For wide rows (d ≥ 64) on data beyond the caches the JS loop streams the features at
 * least as fast (dgemm with N = 1 packs A, doubling the memory traffic), so native only below 16 MB.
 */
function nativeRewards(env: BanditEnv, theta: Float64Array): Float64Array | null {
  const d = env.d;
  const A = env.offsets[env.nContexts];
  if (!(d >= NATIVE_REWARDS_MIN_D && (d < 64 || A * d <= 1 << 21))) return null;
  const dgemm = nativeOp('dgemm');
  if (!dgemm) return null;
  const r = new Float64Array(A);
  // Row blocks small enough (M·K < 2²²) that OpenBLAS stays on one thread: with 2 threads this
  // memory-bound product measured slower than the JS loop (d = 128, 10⁴ contexts: 124 vs 81 ms).
  const rows = Math.max(1, Math.floor((1 << 22) / d));
  for (let r0 = 0; r0 < A; r0 += rows) {
    const m = Math.min(rows, A - r0);
    dgemm(false, false, m, 1, d, 1, env.features, r0 * d, d, theta, 0, 1, 0, r, r0, 1);
  }
  return r;
}

/** Per-call scratch of length max K_c (contexts are processed one at a time). */
function maxActions(env: BanditEnv): number {
  let k = 0;
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) k = Math.max(k, off[c + 1] - off[c]);
  return k;
}

/**
 * Per-context sums → the PolicyEvaluation, with the same weighting and clamping as objective / kl /
 * gapMetric (KL per context clamped at 0; zero-weight contexts skipped in the KL means).
 */
class EvalAccumulator {
  jHat = 0;
  jStar = 0;
  klRef = 0;
  klStarRef = 0;
  klStarToHat = 0;
  rewardHat = 0;
  add(
    w: number,
    eta: number,
    erHat: number,
    klHat: number,
    erStar: number,
    klStar: number,
    klSH: number,
  ): void {
    klHat = klHat < 0 ? 0 : klHat;
    klStar = klStar < 0 ? 0 : klStar;
    klSH = klSH < 0 ? 0 : klSH;
    this.jHat += w * (erHat - eta * klHat);
    this.jStar += w * (erStar - eta * klStar);
    if (w !== 0) {
      this.klRef += w * klHat;
      this.klStarRef += w * klStar;
      this.klStarToHat += w * klSH;
      this.rewardHat += w * erHat;
    }
  }
  result(eta: number): PolicyEvaluation {
    const suboptimality = Math.max(0, this.jStar - this.jHat);
    return {
      gap: suboptimality + eta * this.klStarToHat,
      suboptimality,
      klStarToHat: this.klStarToHat,
      jStar: this.jStar,
      jHat: this.jHat,
      klRef: this.klRef,
      rewardHat: this.rewardHat,
      klStarRef: this.klStarRef,
    };
  }
}

/**
 * r*, log π*, π* per action and E_π* r*, KL(π*‖π0) per context: everything about π* that evaluation
 * needs. θ* never changes for an environment, so this is computed once per env and reused by
 * evaluateGibbsExact; it is revalidated on every use (array identities, η, the θ* values), so
 * replacing env.thetaStar / env.features etc. or editing θ* in place recomputes it. (Editing
 * env.features or env.refLogprobs in place is not detected: environments are treated as immutable.)
 */
interface StarCache {
  thetaStar: Float64Array;
  thetaStarRef: Float64Array;
  features: Float64Array;
  refLogprobs: Float64Array;
  offsets: Int32Array;
  eta: number;
  d: number;
  nContexts: number;
  rs: Float64Array;
  lps: Float64Array;
  ps: Float64Array;
  erS: Float64Array;
  klS: Float64Array;
}

const starCache = new WeakMap<BanditEnv, StarCache>();

function starOf(env: BanditEnv, what: string): StarCache {
  const ts = requireThetaStar(env, what);
  const hit = starCache.get(env);
  if (
    hit &&
    hit.thetaStarRef === ts &&
    hit.features === env.features &&
    hit.refLogprobs === env.refLogprobs &&
    hit.offsets === env.offsets &&
    hit.eta === env.eta &&
    hit.d === env.d &&
    hit.nContexts === env.nContexts
  ) {
    let same = true;
    for (let j = 0; j < env.d; j++) if (!Object.is(hit.thetaStar[j], ts[j])) same = false;
    if (same) return hit;
  }
  const eta = env.eta;
  if (!(eta > 0)) throw new RangeError(`gibbs: eta must be > 0, got ${eta}`);
  // trueRewards + gibbs + expectedRewards + klPerContext in one pass per context, with one
  // (table-driven) exp per action reused for the probabilities: a cold call should not cost more
  // than the separate functions did.
  const rs = nativeRewards(env, ts) ?? rewardsOf(env, ts);
  const A = rs.length;
  const lps = new Float64Array(A);
  const ps = new Float64Array(A);
  const erS = new Float64Array(env.nContexts);
  const klS = new Float64Array(env.nContexts);
  const ref = env.refLogprobs;
  const off = env.offsets;
  for (let k = 0; k < env.nContexts; k++) {
    const s0 = off[k];
    const s1 = off[k + 1];
    let m = -Infinity;
    for (let a = s0; a < s1; a++) {
      const l = ref[a] + rs[a] / eta;
      lps[a] = l;
      if (l > m) m = l;
    }
    if (!Number.isFinite(m))
      throw new RangeError(`normalizePerContext: context ${k} has log-normaliser ${m}`);
    let sum = 0;
    for (let a = s0; a < s1; a++) {
      const e = fastExp(lps[a] - m);
      ps[a] = e;
      sum += e;
    }
    const z = m + Math.log(sum);
    const inv = 1 / sum;
    let er = 0;
    let kl = 0;
    for (let a = s0; a < s1; a++) {
      const lp = lps[a] - z;
      lps[a] = lp;
      const p = ps[a] * inv;
      ps[a] = p;
      if (p > 0) er += p * rs[a];
      if (lp !== -Infinity) kl += p * (lp - ref[a]);
    }
    erS[k] = er;
    klS[k] = kl < 0 ? 0 : kl;
  }
  const c: StarCache = {
    thetaStar: Float64Array.from(ts),
    thetaStarRef: ts,
    features: env.features,
    refLogprobs: env.refLogprobs,
    offsets: env.offsets,
    eta,
    d: env.d,
    nContexts: env.nContexts,
    rs,
    lps,
    ps,
    erS,
    klS,
  };
  starCache.set(env, c);
  return c;
}

/**
 * Fused exact evaluation of the Gibbs policy π̂ ∝ π0·exp(⟨θ̂,φ⟩/η) under the true reward: J(π̂)
 * (= jHat), KL(π̂‖π0), and gapMetric's fields. Equals gibbsOfTheta + objective + klToRef + gapMetric
 * to rounding (~1e-15 relative; tested to 1e-12). Why it is faster: that sequence re-reads the
 * features for each reward vector and calls Math.exp once per action in every pass (≈ 7 per
 * action); here π* comes from a per-env cache (θ* is fixed), and π̂ costs one pass over the
 * features and one (table-driven) exp per action. Optionally writes log π̂ into `logpOut`.
 * η is env.eta (as in gapMetric). With the addon the loop runs in C; src/native's setBackend('ts')
 * (or GSHF_NO_NATIVE=1) runs the TypeScript loop.
 */
export function evaluateGibbsExact(
  env: BanditEnv,
  thetaHat: ArrayLike<number>,
  logpOut?: Float64Array,
): PolicyEvaluation {
  const d = env.d;
  if (thetaHat.length !== d)
    throw new RangeError(`evaluateGibbsExact: theta has length ${thetaHat.length}, env has d = ${d}`);
  for (let j = 0; j < d; j++)
    if (!Number.isFinite(thetaHat[j]))
      throw new RangeError(`evaluateGibbsExact: theta[${j}] is ${thetaHat[j]}, expected a finite number`);
  if (logpOut !== undefined) requireFlat(env, logpOut, 'evaluateGibbsExact', 'logpOut');
  const star = starOf(env, 'evaluateGibbsExact');
  const th = thetaHat instanceof Float64Array ? thetaHat : Float64Array.from(thetaHat);
  const nat = nativeEvaluate(env, star, th, logpOut);
  return nat ?? evaluateTs(env, star, th, logpOut);
}

const nativeEvalOut = new Float64Array(6);

/**
 * evaluateGibbsExact's loop in C (native/src/eval_impl.h: the same formulas and conventions, a
 * vectorised exp, both cores for large inputs), or null when the addon does not provide it.
 */
function nativeEvaluate(
  env: BanditEnv,
  star: StarCache,
  th: Float64Array,
  logpOut: Float64Array | undefined,
): PolicyEvaluation | null {
  const evalGibbs = nativeOp('evalGibbs');
  if (!evalGibbs || !(env.offsets instanceof Int32Array)) return null;
  const o = nativeEvalOut;
  const bad = evalGibbs(
    env.features,
    env.offsets,
    env.refLogprobs,
    env.weights,
    th,
    env.eta,
    star.rs,
    star.lps,
    star.ps,
    star.erS,
    star.klS,
    logpOut ?? null,
    o,
  );
  if (bad >= 0) throw logNormaliserError(bad, maxLogit(env, th, bad));
  const eta = env.eta;
  const suboptimality = Math.max(0, o[1] - o[0]);
  return {
    gap: suboptimality + eta * o[4],
    suboptimality,
    klStarToHat: o[4],
    jStar: o[1],
    jHat: o[0],
    klRef: o[2],
    rewardHat: o[5],
    klStarRef: o[3],
  };
}

/** max_a log π0(a|x_c) + ⟨θ, φ(x_c,a)⟩/η over context c (for the error message). */
function maxLogit(env: BanditEnv, th: Float64Array, c: number): number {
  const d = env.d;
  let m = -Infinity;
  for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) {
    let h = 0;
    for (let j = 0; j < d; j++) h += env.features[a * d + j] * th[j];
    const l = env.refLogprobs[a] + h / env.eta;
    if (l > m) m = l;
  }
  return m;
}

function logNormaliserError(c: number, m: number): RangeError {
  return new RangeError(`normalizePerContext: context ${c} has log-normaliser ${m}`);
}

/** The TypeScript loop of evaluateGibbsExact (GSHF_NO_NATIVE=1, or no addon). */
function evaluateTs(
  env: BanditEnv,
  star: StarCache,
  th: Float64Array,
  logpOut: Float64Array | undefined,
): PolicyEvaluation {
  const d = env.d;
  const { rs, lps, ps, erS, klS } = star;
  const eta = env.eta;
  const K = maxActions(env);
  // lh: logits, then log-probabilities of π̂; eh: exp(logit − max).
  const lh = new Float64Array(K);
  const eh = new Float64Array(K);
  const F = env.features;
  const ref = env.refLogprobs;
  const off = env.offsets;
  const acc = new EvalAccumulator();
  const rh = nativeRewards(env, th);
  const t0 = th[0 % d];
  const t1 = th[1 % d];
  const t2 = th[2 % d];
  const t3 = th[3 % d];
  const t4 = th[4 % d];
  const t5 = th[5 % d];
  const t6 = th[6 % d];
  const t7 = th[7 % d];
  for (let c = 0; c < env.nContexts; c++) {
    const s = off[c];
    const len = off[c + 1] - s;
    let mh = -Infinity;
    for (let k = 0; k < len; k++) {
      if (rh !== null) {
        const a = ref[s + k] + rh[s + k] / eta;
        lh[k] = a;
        if (a > mh) mh = a;
        continue;
      }
      const o = (s + k) * d;
      // 4 split accumulators shorten the add dependency chain.
      let h0 = 0;
      let h1 = 0;
      let h2 = 0;
      let h3 = 0;
      if (d === 8) {
        // The benchmark's small case, unrolled (the generic loop costs ~2× here).
        h0 = F[o] * t0 + F[o + 4] * t4;
        h1 = F[o + 1] * t1 + F[o + 5] * t5;
        h2 = F[o + 2] * t2 + F[o + 6] * t6;
        h3 = F[o + 3] * t3 + F[o + 7] * t7;
      } else {
        let j = 0;
        for (; j + 3 < d; j += 4) {
          h0 += F[o + j] * th[j];
          h1 += F[o + j + 1] * th[j + 1];
          h2 += F[o + j + 2] * th[j + 2];
          h3 += F[o + j + 3] * th[j + 3];
        }
        for (; j < d; j++) h0 += F[o + j] * th[j];
      }
      const a = ref[s + k] + (h0 + h1 + (h2 + h3)) / eta;
      lh[k] = a;
      if (a > mh) mh = a;
    }
    if (!Number.isFinite(mh)) throw logNormaliserError(c, mh);
    // Log-sum-exp with one exp per action, reused for the probabilities.
    let sh = 0;
    for (let k = 0; k < len; k++) {
      const u = fastExp(lh[k] - mh);
      eh[k] = u;
      sh += u;
    }
    const zh = mh + Math.log(sh);
    const ih = 1 / sh;
    let erH = 0;
    let klH = 0;
    let klSH = 0;
    if (logpOut) for (let k = 0; k < len; k++) logpOut[s + k] = lh[k] - zh;
    for (let k = 0; k < len; k++) {
      const a = s + k;
      const lph = lh[k] - zh;
      const ph = eh[k] * ih;
      // Finite entries (the usual case) need none of the p = 0 / log p = −∞ conventions.
      if (ph > 0 && lph > -Infinity) {
        erH += ph * rs[a];
        klH += ph * (lph - ref[a]);
      } else if (lph !== -Infinity) klH += ph * (lph - ref[a]);
      const lp = lps[a];
      if (lp !== -Infinity) klSH += ps[a] * (lp - lph);
    }
    acc.add(env.weights[c], eta, erH, klH, erS[c], klS[c], klSH);
  }
  return acc.result(eta);
}
