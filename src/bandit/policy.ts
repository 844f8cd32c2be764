/**
 * Exact policy quantities of the KL-regularised bandit, all in float64 and log space:
 * Gibbs policies π ∝ π0·exp(r/η), expected rewards, KL divergences, the objective
 * J(π) = E_x[E_{a~π} r − η·KL(π(·|x)‖π0(·|x))] and the paper's gap metric.
 */
import { logSumExp } from '../math/special.js';
import type { BanditEnv } from './env.js';

/** r(x,a) = ⟨θ, φ(x,a)⟩ for every flat action. */
export function rewardsOf(env: BanditEnv, theta: ArrayLike<number>): Float64Array {
  const d = env.d;
  if (theta.length !== d)
    throw new RangeError(`rewardsOf: theta has length ${theta.length}, env has d = ${d}`);
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
export function gibbs(env: BanditEnv, rewards: ArrayLike<number>, eta: number = env.eta): Float64Array {
  if (!(eta > 0)) throw new RangeError(`gibbs: eta must be > 0, got ${eta}`);
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
      throw new RangeError(`normalizePerContext: context ${c} has log-normaliser ${z}`);
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
