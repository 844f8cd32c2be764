/**
 * Uncertainty quantities of paper §1.4: the feature-difference covariance Σ = λI + Σ ΔφΔφᵀ and
 * Σ⁻¹-norms of feature differences (Γ pointwise, Γ^e expected, and the relative uncertainty of
 * one policy against another). β (the confidence radius) is left to the caller.
 */
import { addOuterProducts, cholesky, mahalanobisSq, scaledIdentity } from '../math/linalg.js';
import type { BanditEnv, PairData } from './env.js';
import { featureDiffs } from './env.js';
import { expectedFeatures } from './policy.js';

/** Σ = λI + Σ_i Δφ_i Δφ_iᵀ over the given pairs. */
export function pairCovariance(env: BanditEnv, pairs: PairData, lambda: number): Float64Array {
  const d = env.d;
  const S = scaledIdentity(d, lambda);
  const n = pairs.context.length;
  if (n === 0) return S;
  return addOuterProducts(n, d, featureDiffs(env, pairs), null, S);
}

/**
 * Expected version (the paper's Σ_t with an expectation per batch):
 *   λI + scale · E_{x~d0} E_{a1~π1, a2~π2} (φ(x,a1) − φ(x,a2))(φ(x,a1) − φ(x,a2))ᵀ.
 * Uses E[(φ1−φ2)(φ1−φ2)ᵀ] = E1[φφᵀ] + E2[φφᵀ] − m1m2ᵀ − m2m1ᵀ per context (a1, a2 independent).
 */
export function expectedPairCovariance(
  env: BanditEnv,
  logp1: ArrayLike<number>,
  logp2: ArrayLike<number>,
  lambda: number,
  scale = 1,
): Float64Array {
  const d = env.d;
  const A = env.offsets[env.nContexts];
  const S = scaledIdentity(d, lambda);
  // Second moments: Σ_x w_x Σ_a (π1 + π2)(a|x) φφᵀ as one weighted Gram accumulation.
  const wa = new Float64Array(A);
  for (let c = 0; c < env.nContexts; c++)
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++)
      wa[a] = scale * env.weights[c] * (Math.exp(logp1[a]) + Math.exp(logp2[a]));
  addOuterProducts(A, d, env.features, wa, S);
  const m1 = expectedFeatures(env, logp1);
  const m2 = expectedFeatures(env, logp2);
  for (let c = 0; c < env.nContexts; c++) {
    const w = scale * env.weights[c];
    if (w === 0) continue;
    const o = c * d;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) S[i * d + j] -= w * (m1[o + i] * m2[o + j] + m2[o + i] * m1[o + j]);
  }
  return S;
}

/** Σ⁻¹-norms through a stored Cholesky factor of Σ (never forms Σ⁻¹). */
export class Uncertainty {
  readonly d: number;
  /** Current Σ (copy owned by this object). */
  readonly sigma: Float64Array;
  private chol: Float64Array;
  private readonly scratch: Float64Array;
  private readonly v: Float64Array;

  constructor(sigma: Float64Array, d: number) {
    if (sigma.length !== d * d)
      throw new RangeError(`Uncertainty: sigma has ${sigma.length} entries, expected ${d}×${d}`);
    this.d = d;
    this.sigma = Float64Array.from(sigma);
    this.chol = cholesky(this.sigma, d);
    this.scratch = new Float64Array(d);
    this.v = new Float64Array(d);
  }

  /** ‖v‖_{Σ⁻¹} = √(vᵀΣ⁻¹v). */
  norm(v: ArrayLike<number>, off = 0): number {
    return Math.sqrt(mahalanobisSq(this.chol, this.d, v, this.scratch, off));
  }

  /** Γ(x,a) = ‖φ(x,a) − ν(x)‖_{Σ⁻¹} for every flat action. nu: nContexts×d, or null for ν = 0. */
  pointwise(env: BanditEnv, nu: Float64Array | null): Float64Array {
    const d = this.d;
    this.checkEnv(env);
    const out = new Float64Array(env.offsets[env.nContexts]);
    const F = env.features;
    for (let c = 0; c < env.nContexts; c++) {
      for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) {
        for (let j = 0; j < d; j++) this.v[j] = F[a * d + j] - (nu === null ? 0 : nu[c * d + j]);
        out[a] = this.norm(this.v);
      }
    }
    return out;
  }

  /** Γ^e(π, ν) = ‖E_{x~d0}[φ(x,π) − ν(x)]‖_{Σ⁻¹}. */
  expected(env: BanditEnv, logp: ArrayLike<number>, nu: Float64Array | null): number {
    const d = this.d;
    this.checkEnv(env);
    const ef = expectedFeatures(env, logp);
    this.v.fill(0);
    for (let c = 0; c < env.nContexts; c++) {
      const w = env.weights[c];
      for (let j = 0; j < d; j++) this.v[j] += w * (ef[c * d + j] - (nu === null ? 0 : nu[c * d + j]));
    }
    return this.norm(this.v);
  }

  /** ‖E_{x,a~π1} φ − E_{x,a~π2} φ‖_{Σ⁻¹}: the paper's Γ_t(λ, π1, π2) without β. */
  relative(env: BanditEnv, logp1: ArrayLike<number>, logp2: ArrayLike<number>): number {
    const d = this.d;
    this.checkEnv(env);
    const e1 = expectedFeatures(env, logp1);
    const e2 = expectedFeatures(env, logp2);
    this.v.fill(0);
    for (let c = 0; c < env.nContexts; c++) {
      const w = env.weights[c];
      for (let j = 0; j < d; j++) this.v[j] += w * (e1[c * d + j] - e2[c * d + j]);
    }
    return this.norm(this.v);
  }

  /** Σ += Σ_i w_i Δφ_i Δφ_iᵀ for n rows of dphi (n×d), then refactor (O(d³)). */
  update(dphi: Float64Array, n: number = dphi.length / this.d, weights: Float64Array | null = null): void {
    addOuterProducts(n, this.d, dphi, weights, this.sigma);
    this.chol = cholesky(this.sigma, this.d, this.chol);
  }

  private checkEnv(env: BanditEnv): void {
    if (env.d !== this.d) throw new RangeError(`Uncertainty: env has d = ${env.d}, Σ is ${this.d}×${this.d}`);
  }
}
