/**
 * Exact quantities of the f-regularised bandit J_f(π) = E_x[E_{a~π} r − η·D_f(π(·|x)‖π0(·|x))]
 * (float64, per context, flat layout as in policy.ts).
 *
 * The optimum (KKT, per context x, u = π/π0):  r(a) − η·f′(u_a) − λ + μ_a = 0, μ_a ≥ 0, μ_a·u_a = 0,
 * so u_a = (f′)⁻¹((r(a) − λ)/η) where that is positive and u_a = 0 otherwise (only possible when
 * f′(0+) is finite, e.g. χ²), with the one multiplier λ(x) fixed by Σ_a π0(a)·u_a = 1. The sum is
 * continuous and strictly decreasing in λ, so λ is found by bisection after bracketing. For
 * divergences with a finite f′(∞) = L (forward KL, α, JS) every u_a needs (r(a) − λ)/η < L, i.e.
 * λ > max r − ηL: we then search λ = max r − ηL + η·e^τ over τ, which resolves a normaliser sitting
 * arbitrarily close to that bound. Reverse KL uses the closed-form Gibbs policy of policy.ts.
 */
import { GshfInputError } from '../../math/errors.js';
import type { BanditEnv } from '../env.js';
import { expectedRewards, gibbs, requireFlat, trueRewards, weightedSum } from '../policy.js';
import type { Divergence } from './registry.js';

function requireEta(eta: number, fn: string): void {
  if (!(eta > 0) || !Number.isFinite(eta))
    throw new GshfInputError(`${fn}: eta must be a finite number > 0, got ${eta}`);
}

/**
 * The multiplier search of one context: writes log π into out[s..e) and returns λ.
 * `lr` = log π0 of the context's actions (−∞ entries keep probability 0).
 */
function solveContext(
  div: Divergence,
  lr: ArrayLike<number>,
  r: ArrayLike<number>,
  s: number,
  e: number,
  eta: number,
  out: Float64Array,
): number {
  // Phase 1: the largest reward among actions π0 supports, and the parametrisation of λ.
  let rmax = -Infinity;
  for (let a = s; a < e; a++) if (lr[a] > -Infinity && r[a] > rmax) rmax = r[a];
  if (!Number.isFinite(rmax)) throw new GshfInputError(`f-optimum: a context has no action with π0 > 0`);
  const bounded = Number.isFinite(div.slopeInf);
  const L = bounded ? div.slopeInf : 0;
  const lambdaOf = (tau: number): number =>
    bounded ? rmax - eta * L + eta * Math.exp(tau) : rmax + eta * tau;
  // g(τ) = log Σ π0·u − 0, computed as a log-sum-exp of log π0 + log u (decreasing in τ).
  const logMass = (tau: number): number => {
    let m = -Infinity;
    for (let a = s; a < e; a++) {
      if (lr[a] === -Infinity) continue;
      const y = bounded ? (r[a] - rmax) / eta + L - Math.exp(tau) : (r[a] - rmax) / eta - tau;
      // y = (r(a) − λ(τ))/η, written so that no large λ cancels against r(a).
      const v = lr[a] + div.logInvFPrime(y);
      out[a] = v;
      if (v > m) m = v;
    }
    if (m === -Infinity) return -Infinity;
    let sum = 0;
    for (let a = s; a < e; a++) if (lr[a] > -Infinity && out[a] > -Infinity) sum += Math.exp(out[a] - m);
    return m + Math.log(sum);
  };
  // Phase 2: bracket the root of logMass(τ) = 0 by doubling outwards.
  let lo = -1;
  let hi = 1;
  for (let k = 0; logMass(lo) <= 0; k++) {
    if (k > 80) throw new Error('f-optimum: could not bracket the normaliser from below');
    hi = lo;
    lo = 2 * lo - 1;
  }
  for (let k = 0; logMass(hi) > 0; k++) {
    if (k > 80) throw new Error('f-optimum: could not bracket the normaliser from above');
    lo = hi;
    hi = 2 * hi + 1;
  }
  // Phase 3: bisection to machine precision in τ.
  for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(1, Math.abs(lo)); it++) {
    const mid = 0.5 * (lo + hi);
    if (logMass(mid) > 0) lo = mid;
    else hi = mid;
  }
  // Phase 4: evaluate at the root and renormalise away the last rounding.
  const tau = 0.5 * (lo + hi);
  const z = logMass(tau);
  for (let a = s; a < e; a++) out[a] = lr[a] === -Infinity || out[a] === -Infinity ? -Infinity : out[a] - z;
  return lambdaOf(tau);
}

export interface FOptimum {
  /** log π_f* per flat action (−∞ where the optimum puts no mass). */
  logp: Float64Array;
  /** The per-context normaliser λ(x) of the KKT conditions. */
  lambda: Float64Array;
}

/** The exact maximiser of J_f for rewards r by the generic multiplier search (also for reverse KL). */
export function fOptimumGeneric(
  env: BanditEnv,
  rewards: ArrayLike<number>,
  div: Divergence,
  eta: number = env.eta,
): FOptimum {
  requireEta(eta, 'fOptimum');
  requireFlat(env, rewards, 'fOptimum', 'rewards');
  const A = env.offsets[env.nContexts];
  const logp = new Float64Array(A);
  const lambda = new Float64Array(env.nContexts);
  for (let c = 0; c < env.nContexts; c++)
    lambda[c] = solveContext(div, env.refLogprobs, rewards, env.offsets[c], env.offsets[c + 1], eta, logp);
  return { logp, lambda };
}

/** log π_f* = argmax_π J_f(π) for rewards r; reverse KL is the Gibbs policy π0·exp(r/η)/Z. */
export function fOptimal(
  env: BanditEnv,
  rewards: ArrayLike<number>,
  div: Divergence,
  eta: number = env.eta,
): Float64Array {
  if (div.name === 'reverse-kl') return gibbs(env, rewards, eta);
  return fOptimumGeneric(env, rewards, div, eta).logp;
}

/** D_f(P(·|x)‖Q(·|x)) per context from log-probabilities, with the limits at zero mass. */
export function fDivergencePerContext(
  env: BanditEnv,
  logpP: ArrayLike<number>,
  logpQ: ArrayLike<number>,
  div: Divergence,
): Float64Array {
  requireFlat(env, logpP, 'fDivergence', 'the first policy (log-probabilities)');
  requireFlat(env, logpQ, 'fDivergence', 'the second policy (log-probabilities)');
  const out = new Float64Array(env.nContexts);
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) {
    let sum = 0;
    for (let a = off[c]; a < off[c + 1]; a++) {
      const lp = logpP[a];
      const lq = logpQ[a];
      if (lp === -Infinity && lq === -Infinity) continue;
      // q = 0 < p: p·f′(∞); p = 0 < q: q·f(0).
      if (lq === -Infinity) sum += Math.exp(lp) * div.slopeInf;
      else if (lp === -Infinity) sum += Math.exp(lq) * div.f0;
      else sum += div.term(lp, lq);
    }
    out[c] = sum < 0 ? 0 : sum;
  }
  return out;
}

/** E_{x~d0} D_f(P(·|x)‖Q(·|x)). */
export function fDivergence(
  env: BanditEnv,
  logpP: ArrayLike<number>,
  logpQ: ArrayLike<number>,
  div: Divergence,
): number {
  return weightedSum(env, fDivergencePerContext(env, logpP, logpQ, div));
}

/** J_f(π) = E_x[E_{a~π} r − η·D_f(π‖π0)]. */
export function fObjective(
  env: BanditEnv,
  logp: ArrayLike<number>,
  rewards: ArrayLike<number>,
  div: Divergence,
  eta: number = env.eta,
): number {
  requireEta(eta, 'fObjective');
  const er = expectedRewards(env, logp, rewards);
  const dv = fDivergencePerContext(env, logp, env.refLogprobs, div);
  let s = 0;
  for (let c = 0; c < env.nContexts; c++)
    if (env.weights[c] !== 0) s += env.weights[c] * (er[c] - eta * dv[c]);
  return s;
}

export interface FGapMetric {
  /** J_f(π_f*) − J_f(π̂) + η·E_x D_f(π_f*‖π̂): the paper's gap with D_f in place of the KL. */
  gap: number;
  /** J_f(π_f*) − J_f(π̂) ≥ 0. */
  suboptimality: number;
  /** E_x D_f(π_f*(·|x) ‖ π̂(·|x)). */
  divStarToHat: number;
  /** E_x D_f(π̂ ‖ π0): the method's own divergence from the reference. */
  divToRef: number;
  jStar: number;
  jHat: number;
}

/**
 * The paper's gap under divergence f for π̂ and the true reward (needs θ*): with reverse KL it is
 * exactly `gapMetric` of policy.ts. η is env.eta.
 */
export function fGapMetric(env: BanditEnv, logpHat: ArrayLike<number>, div: Divergence): FGapMetric {
  requireFlat(env, logpHat, 'fGapMetric', 'the policy (log-probabilities)');
  const r = trueRewards(env);
  const star = fOptimal(env, r, div);
  const jStar = fObjective(env, star, r, div);
  const jHat = fObjective(env, logpHat, r, div);
  const divStarToHat = fDivergence(env, star, logpHat, div);
  const suboptimality = Math.max(0, jStar - jHat);
  return {
    gap: suboptimality + env.eta * divStarToHat,
    suboptimality,
    divStarToHat,
    divToRef: fDivergence(env, logpHat, env.refLogprobs, div),
    jStar,
    jHat,
  };
}
