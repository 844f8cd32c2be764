/**
 * Exact optima of multi-objective KL-regularised bandits (all float64, log-space Gibbs policies).
 *
 * Per-objective regularised values: J_k(π) = E_{x~d0} E_{a~π} r_k(x,a) − η·KL(π‖π0). Every J_k is
 * concave in π, so the Pareto front of (J_0..J_{K−1}) is traced by the scalarised maximisers
 * π_w = Gibbs(π0, Σ_k w_k r_k / η), w in the simplex (Σ_k w_k J_k = E[Σ_k w_k r_k] − η·KL).
 *
 * Constrained (safe) alignment: max_π E r_1 − η·KL  s.t.  E r_2 ≥ c. Lagrangian dual: for λ ≥ 0
 * the maximiser is π_λ = Gibbs((r_1 + λ r_2)/η), E_{π_λ} r_2 is non-decreasing in λ (its derivative
 * is Var_{π_λ}(r_2)/η ≥ 0), and the dual g(λ) = η·E_x log Z_λ(x) − λc is convex with
 * g'(λ) = E_{π_λ} r_2 − c. So λ = 0 if π_0 is feasible, else the root of E_{π_λ} r_2 = c by
 * bisection; strong duality gives J(π_λ) = g(λ).
 *
 * Lexicographic: first J_p* = max_π J_p(π); then max J_s(π) s.t. J_p(π) ≥ J_p* − τ. Its maximiser
 * is the point of the (J_s, J_p) front with weight μ on J_p: π_μ = Gibbs(((1−μ) r_s + μ r_p)/η),
 * J_p(π_μ) non-decreasing in μ, μ = 0 if Gibbs(r_s) is within τ, else the root of J_p(π_μ) = J_p* − τ.
 */
import { GshfInputError } from '../../math/errors.js';
import { logSumExp } from '../../math/special.js';
import type { BanditEnv } from '../env.js';
import { expectedFeatures, expectedReward, gibbs, klToRef } from '../policy.js';
import type { Uncertainty } from '../uncertainty.js';

export interface ObjectivePoint {
  /** Scalarisation weights (simplex). */
  w: number[];
  /** E r_k per objective. */
  reward: number[];
  /** J_k = E r_k − η·KL per objective. */
  value: number[];
  kl: number;
  policy: Float64Array;
}

/** Σ_k w_k r_k (flat). */
export function weightedRewards(rewards: Float64Array[], w: ArrayLike<number>): Float64Array {
  if (rewards.length !== w.length)
    throw new GshfInputError(`weightedRewards: ${rewards.length} rewards, ${w.length} weights`);
  const out = new Float64Array(rewards[0].length);
  rewards.forEach((r, k) => {
    for (let a = 0; a < out.length; a++) out[a] += w[k] * r[a];
  });
  return out;
}

/** E r_k, J_k and KL of a policy under each reward. */
export function evaluateObjectives(
  env: BanditEnv,
  logp: Float64Array,
  rewards: Float64Array[],
  eta = env.eta,
): Omit<ObjectivePoint, 'w'> {
  const kl = klToRef(env, logp);
  const reward = rewards.map((r) => expectedReward(env, logp, r));
  return { reward, value: reward.map((v) => v - eta * kl), kl, policy: logp };
}

/** The scalarised Gibbs policy for weights w and its objective values. */
export function scalarisedPoint(
  env: BanditEnv,
  rewards: Float64Array[],
  w: number[],
  eta = env.eta,
): ObjectivePoint {
  const s = w.reduce((a, b) => a + b, 0);
  if (w.some((x) => !(x >= 0)) || !(Math.abs(s - 1) < 1e-9))
    throw new GshfInputError(`scalarisedPoint: weights must be ≥ 0 and sum to 1, got [${w.join(', ')}]`);
  const policy = gibbs(env, weightedRewards(rewards, w), eta);
  return { w, ...evaluateObjectives(env, policy, rewards, eta) };
}

/** Two-objective front at n+1 evenly spaced weights w = (1 − i/n, i/n), i = 0..n. */
export function paretoFront2(
  env: BanditEnv,
  r0: Float64Array,
  r1: Float64Array,
  n: number,
  eta = env.eta,
): ObjectivePoint[] {
  if (!Number.isInteger(n) || n < 1)
    throw new GshfInputError(`paretoFront2: n must be an integer ≥ 1, got ${n}`);
  return Array.from({ length: n + 1 }, (_, i) => scalarisedPoint(env, [r0, r1], [1 - i / n, i / n], eta));
}

/** True when a weakly dominates b (≥ on all, > on one, up to tol). */
export function dominates(a: ArrayLike<number>, b: ArrayLike<number>, tol = 0): boolean {
  let strict = false;
  for (let k = 0; k < a.length; k++) {
    if (a[k] < b[k] - tol) return false;
    if (a[k] > b[k] + tol) strict = true;
  }
  return strict;
}

/** The non-dominated members of a set of value vectors (indices). */
export function nonDominated(points: ArrayLike<number>[]): number[] {
  return points.flatMap((p, i) => (points.some((q) => dominates(q, p)) ? [] : [i]));
}

/** η·E_x log Σ_a π0(a|x) exp(r(x,a)/η) = max_π E r − η·KL. */
export function logPartition(env: BanditEnv, rewards: ArrayLike<number>, eta = env.eta): number {
  let s = 0;
  const buf = new Float64Array(
    Math.max(...Array.from({ length: env.nContexts }, (_, c) => env.offsets[c + 1] - env.offsets[c])),
  );
  for (let c = 0; c < env.nContexts; c++) {
    const lo = env.offsets[c];
    const K = env.offsets[c + 1] - lo;
    for (let a = 0; a < K; a++) buf[a] = env.refLogprobs[lo + a] + rewards[lo + a] / eta;
    s += env.weights[c] * eta * logSumExp(buf, 0, K);
  }
  return s;
}

export interface ConstrainedSolution {
  policy: Float64Array;
  /** Lagrange multiplier of E r_2 ≥ c. */
  lambda: number;
  /** False when no policy satisfies the constraint (then policy is the λ → ∞ limit that maximises E r_2). */
  feasible: boolean;
  /** E r_1 − η·KL of the policy. */
  value: number;
  /** E r_2 of the policy. */
  constraint: number;
  /** Dual value g(λ) (= value when feasible: strong duality). */
  dual: number;
}

/** max_π E r_1 − η·KL s.t. E r_2 ≥ c, through the Lagrangian dual (see the file comment). */
export function constrainedGibbs(
  env: BanditEnv,
  r1: Float64Array,
  r2: Float64Array,
  c: number,
  eta = env.eta,
): ConstrainedSolution {
  const at = (lambda: number): ConstrainedSolution => {
    const mix = weightedRewards([r1, r2], [1, lambda]);
    const policy = gibbs(env, mix, eta);
    const constraint = expectedReward(env, policy, r2);
    const value = expectedReward(env, policy, r1) - eta * klToRef(env, policy);
    return {
      policy,
      lambda,
      feasible: constraint >= c,
      value,
      constraint,
      dual: logPartition(env, mix, eta) - lambda * c,
    };
  };
  const free = at(0);
  if (free.constraint >= c) return free;
  let hi = 1;
  let top = at(hi);
  while (top.constraint < c && hi < 1e15) top = at((hi *= 4));
  if (top.constraint < c) return { ...top, feasible: false };
  let lo = 0;
  for (let it = 0; it < 200 && hi - lo > 1e-13 * hi; it++) {
    const mid = 0.5 * (lo + hi);
    if (at(mid).constraint >= c) hi = mid;
    else lo = mid;
  }
  return at(hi);
}

export interface LexicographicSolution {
  policy: Float64Array;
  /** Weight on the primary objective in Gibbs(((1−μ) r_s + μ r_p)/η). */
  mu: number;
  /** J_p* = max J_p. */
  primaryOptimum: number;
  primaryValue: number;
  secondaryValue: number;
}

/** max J_s s.t. J_p ≥ max J_p − τ (τ ≥ 0), exactly (see the file comment). */
export function lexicographicGibbs(
  env: BanditEnv,
  rPrimary: Float64Array,
  rSecondary: Float64Array,
  tolerance: number,
  eta = env.eta,
): LexicographicSolution {
  if (!(tolerance >= 0))
    throw new GshfInputError(`lexicographicGibbs: tolerance must be ≥ 0, got ${tolerance}`);
  const primaryOptimum = logPartition(env, rPrimary, eta);
  const target = primaryOptimum - tolerance;
  const at = (mu: number): LexicographicSolution => {
    const p = scalarisedPoint(env, [rSecondary, rPrimary], [1 - mu, mu], eta);
    return { policy: p.policy, mu, primaryOptimum, primaryValue: p.value[1], secondaryValue: p.value[0] };
  };
  const free = at(0);
  if (free.primaryValue >= target) return free;
  if (tolerance === 0) return at(1);
  let lo = 0;
  let hi = 1;
  for (let it = 0; it < 200 && hi - lo > 1e-15; it++) {
    const mid = 0.5 * (lo + hi);
    if (at(mid).primaryValue >= target) hi = mid;
    else lo = mid;
  }
  return at(hi);
}

/**
 * Pessimistic (lower-confidence) reward r̃ = r̂ − β·‖φ(x,a) − ν(x)‖_{Σ⁻¹} with ν(x) = E_{π0}φ(x,·).
 * With r̂ and r centred on π0 (`centredOnReference`) and ‖θ̂ − θ‖_Σ ≤ β:
 * E_π r − E_π r̂ = ⟨θ − θ̂, E_x(φ(x,π) − ν(x))⟩ ≥ −β·E_{x,a~π}‖φ − ν‖_{Σ⁻¹}, i.e. E_π r̃ ≤ E_π r,
 * so a policy satisfying the constraint on r̃ satisfies it on the true reward.
 */
export function pessimisticRewards(
  env: BanditEnv,
  rHat: Float64Array,
  unc: Uncertainty,
  beta: number,
): Float64Array {
  const gamma = unc.pointwise(env, expectedFeatures(env, env.refLogprobs));
  return Float64Array.from(rHat, (r, a) => r - beta * gamma[a]);
}

/** r(x,a) − E_{π0(·|x)} r(x,·): a reward measured as its gain over the reference policy. */
export function centredOnReference(env: BanditEnv, r: Float64Array): Float64Array {
  const out = Float64Array.from(r);
  for (let c = 0; c < env.nContexts; c++) {
    let m = 0;
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) m += Math.exp(env.refLogprobs[a]) * r[a];
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) out[a] -= m;
  }
  return out;
}
