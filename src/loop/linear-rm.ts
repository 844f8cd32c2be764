/**
 * The loop's reward model: a linear Bradley–Terry model r(x, a) = ⟨θ, φ(a)⟩ on hashed text features
 * of the response (word unigrams and bigrams, L2-normalised, plus log length), fitted by ridge MLE
 * (src/bandit/mle.ts, the paper's §1.3) on every label so far. It works with any policy backend (it
 * needs only text), refits in milliseconds, and gives the paper's uncertainty directly:
 * Γ(i, j) = ‖φ_i − φ_j‖ in Σ⁻¹, Σ = λI + Σ_labels Δφ Δφᵀ (the `uncertainty` enhancer uses it).
 * Before any label θ = 0: every score ties and the enhancers fall back to a seeded random pair.
 */
import { z } from 'zod';
import { fitMLE } from '../bandit/mle.js';
import { addOuterProducts, cholesky, mahalanobisSq, scaledIdentity } from '../math/linalg.js';
import { hashString } from '../math/rng.js';
import type { PolicySample, TrainPair } from '../iterate/policy.js';
import type { RewardScorer, RowScores } from '../iterate/iteration.js';

export const linearRmSchema = z
  .object({
    kind: z.literal('linear'),
    /** Hashed feature dimension d. */
    dim: z.number().int().min(2).max(4096).default(128),
    /** Ridge λ of the MLE and of Σ. */
    lambda: z.number().positive().default(1),
  })
  .strict();
export type LinearRmConfig = z.output<typeof linearRmSchema>;

/** φ(a): hashed unigram/bigram counts (L2-normalised) in the first d−1 slots, log(1 + chars)/5 last. */
export function textFeatures(text: string, d: number): Float64Array {
  const phi = new Float64Array(d);
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const h = d - 1;
  for (let i = 0; i < words.length; i++) {
    phi[hashString(words[i]) % h] += 1;
    if (i + 1 < words.length) phi[hashString(`${words[i]} ${words[i + 1]}`) % h] += 1;
  }
  let s = 0;
  for (let k = 0; k < h; k++) s += phi[k] * phi[k];
  if (s > 0) for (let k = 0; k < h; k++) phi[k] /= Math.sqrt(s);
  phi[h] = Math.log1p(text.length) / 5;
  return phi;
}

/** The fitted state (θ and the Cholesky factor of Σ), small and JSON-serialisable. */
export interface LinearRmState {
  d: number;
  lambda: number;
  pairs: number;
  theta: number[];
  /** Cholesky factor of Σ (row-major). */
  chol: number[];
  negLogLik: number;
  /** Training accuracy: fraction of pairs with r(chosen) > r(rejected). */
  accuracy: number;
}

export function emptyLinearRm(cfg: LinearRmConfig): LinearRmState {
  const d = cfg.dim;
  return {
    d,
    lambda: cfg.lambda,
    pairs: 0,
    theta: new Array<number>(d).fill(0),
    chol: Array.from(cholesky(scaledIdentity(d, cfg.lambda), d)),
    negLogLik: 0,
    accuracy: NaN,
  };
}

/** Ridge BT-MLE on all pairs (chosen ≻ rejected). Deterministic. */
export function fitLinearRm(cfg: LinearRmConfig, pairs: readonly TrainPair[]): LinearRmState {
  const d = cfg.dim;
  if (pairs.length === 0) return emptyLinearRm(cfg);
  const n = pairs.length;
  const dphi = new Float64Array(n * d);
  pairs.forEach((p, i) => {
    const c = textFeatures(p.chosen.text, d);
    const r = textFeatures(p.rejected.text, d);
    for (let k = 0; k < d; k++) dphi[i * d + k] = c[k] - r[k];
  });
  const fit = fitMLE({ dphi, n, d }, { lambda: cfg.lambda });
  const sigma = scaledIdentity(d, cfg.lambda);
  addOuterProducts(n, d, dphi, null, sigma);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let k = 0; k < d; k++) m += fit.theta[k] * dphi[i * d + k];
    if (m > 0) acc++;
  }
  return {
    d,
    lambda: cfg.lambda,
    pairs: n,
    theta: Array.from(fit.theta),
    chol: Array.from(cholesky(sigma, d)),
    negLogLik: fit.negLogLik,
    accuracy: acc / n,
  };
}

export function linearReward(state: LinearRmState, text: string): number {
  const phi = textFeatures(text, state.d);
  let r = 0;
  for (let k = 0; k < state.d; k++) r += state.theta[k] * phi[k];
  return r;
}

/** The state as the iteration's reward scorer: mean = r, uncertainty(i, j) = ‖φ_i − φ_j‖_{Σ⁻¹}. */
export function linearScorer<S extends PolicySample>(state: LinearRmState): RewardScorer<S> {
  const L = Float64Array.from(state.chol);
  const d = state.d;
  return {
    score: async (_prompts, samples) =>
      samples.map((row): RowScores => {
        const phis = row.map((s) => textFeatures(s.text, d));
        const mean = phis.map((phi) => phi.reduce((a, v, k) => a + v * state.theta[k], 0));
        const diff = new Float64Array(d);
        const scratch = new Float64Array(d);
        return {
          mean,
          uncertainty: (i, j) => {
            for (let k = 0; k < d; k++) diff[k] = phis[i][k] - phis[j][k];
            return Math.sqrt(mahalanobisSq(L, d, diff, scratch));
          },
        };
      }),
  };
}
