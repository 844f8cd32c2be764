/**
 * The loop's reward model: the project's linear Bradley–Terry model (src/pref/linear-rm.ts) on
 * hashed text features of the response (word unigrams and bigrams, L2-normalised, plus log length),
 * fitted by ridge MLE (src/bandit/mle.ts, the paper's §1.3) on every label so far. It works with any
 * policy backend (it needs only text), refits in milliseconds, and gives the paper's uncertainty
 * directly: Γ(i, j) = ‖φ_i − φ_j‖ in Σ⁻¹, Σ = λI + Σ_labels Δφ Δφᵀ (the `uncertainty` enhancer uses it).
 * Before any label θ = 0: every score ties and the enhancers fall back to a seeded random pair.
 */
import { z } from 'zod';
import { HashedTextFeatures, LinearRewardModel, type LinearRmJson } from '../pref/linear-rm.js';
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

/** The fitted state as stored in each iteration's rm.json. */
export type LinearRmState = LinearRmJson;

/** φ(a) of the loop's feature map (hashed unigrams/bigrams, L2-normalised, log length last). */
export function textFeatures(text: string, d: number): Float64Array {
  return new HashedTextFeatures(d).phi(text);
}

export function emptyLinearRm(cfg: LinearRmConfig): LinearRmState {
  return fitLinearRm(cfg, []);
}

/** Ridge BT-MLE on all pairs (chosen ≻ rejected). Deterministic. */
export function fitLinearRm(cfg: LinearRmConfig, pairs: readonly TrainPair[]): LinearRmState {
  const texts = pairs.map((p) => ({ chosen: p.chosen.text, rejected: p.rejected.text }));
  return LinearRewardModel.fit(new HashedTextFeatures(cfg.dim), texts, cfg.lambda).toJSON();
}

const modelOf = (state: LinearRmState): LinearRewardModel<HashedTextFeatures> =>
  LinearRewardModel.fromJSON(new HashedTextFeatures(state.d), state);

/** r(·) of a stored state (the model is built once: Σ's Cholesky factor costs O(d³)). */
export function linearReward(state: LinearRmState): (text: string) => number {
  const rm = modelOf(state);
  return (text) => rm.score(text);
}

/** The state as the iteration's reward scorer: mean = r, uncertainty(i, j) = ‖φ_i − φ_j‖_{Σ⁻¹}. */
export function linearScorer<S extends PolicySample>(state: LinearRmState): RewardScorer<S> {
  const rm = modelOf(state);
  const d = state.d;
  return {
    score: async (_prompts, samples) =>
      samples.map((row): RowScores => {
        const phis = row.map((s) => rm.features.phi(s.text));
        const mean = row.map((s) => rm.score(s.text));
        const diff = new Float64Array(d);
        return {
          mean,
          uncertainty: (i, j) => {
            diff.set(phis[i]);
            return rm.diffUncertainty(diff, phis[j]);
          },
        };
      }),
  };
}
