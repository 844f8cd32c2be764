/**
 * An ensemble-based alternative to the paper's Σ for the enhancers: fit the ridge BT-MLE on K
 * bootstrap resamples of the labelled feature differences, take the covariance C of the K
 * estimates, and use Σ_ens = (C + εI)⁻¹ where the loop would use Σ = λI + Σ ΔφΔφᵀ. For a
 * well-specified BT model C approximates the inverse Fisher information (Σ w_i ΔφΔφᵀ + λI)⁻¹ with
 * logistic weights w_i = σ(z_i)σ(−z_i) at θ̂, which is what a deep-network ensemble (oat's SEA, the
 * paper's "reward-model ensembles") estimates when Σ has no closed form. ε = 1e-6·tr(C)/d keeps
 * Σ_ens positive definite when K ≤ d.
 */
import { inverseSPD } from '../../math/linalg.js';
import type { Rng } from '../../math/rng.js';
import { fitMLE } from '../mle.js';

export interface EnsemblePrecision {
  /** Σ_ens = (C + εI)⁻¹ (d×d). */
  precision: Float64Array;
  /** C, the covariance of the K bootstrap estimates (d×d, divisor K − 1). */
  covariance: Float64Array;
  /** The K estimates (K×d). */
  thetas: Float64Array;
}

/** Bootstrap ensemble of ridge BT-MLEs on the n×d rows of `dphi` (each row: chosen − rejected). */
export function bootstrapPrecision(
  dphi: Float64Array,
  n: number,
  d: number,
  lambda: number,
  members: number,
  rng: Rng,
): EnsemblePrecision {
  if (!(Number.isInteger(members) && members >= 2))
    throw new RangeError(`bootstrapPrecision: members must be an integer ≥ 2, got ${members}`);
  if (!(n >= 1)) throw new RangeError(`bootstrapPrecision: needs at least one pair, got ${n}`);
  // Phase 1: K fits on resamples with replacement.
  const thetas = new Float64Array(members * d);
  const rows = new Float64Array(n * d);
  for (let k = 0; k < members; k++) {
    for (let i = 0; i < n; i++) {
      const src = rng.int(n) * d;
      for (let j = 0; j < d; j++) rows[i * d + j] = dphi[src + j];
    }
    thetas.set(fitMLE({ dphi: rows, n, d }, { lambda }).theta, k * d);
  }
  // Phase 2: their covariance, then the regularised inverse.
  const mean = new Float64Array(d);
  for (let k = 0; k < members; k++) for (let j = 0; j < d; j++) mean[j] += thetas[k * d + j] / members;
  const C = new Float64Array(d * d);
  for (let k = 0; k < members; k++)
    for (let i = 0; i < d; i++) {
      const ui = thetas[k * d + i] - mean[i];
      for (let j = 0; j < d; j++) C[i * d + j] += (ui * (thetas[k * d + j] - mean[j])) / (members - 1);
    }
  let tr = 0;
  for (let i = 0; i < d; i++) tr += C[i * d + i];
  const eps = Math.max(1e-6 * (tr / d), 1e-300);
  const reg = Float64Array.from(C);
  for (let i = 0; i < d; i++) reg[i * d + i] += eps;
  return { precision: inverseSPD(reg, d), covariance: C, thetas };
}
