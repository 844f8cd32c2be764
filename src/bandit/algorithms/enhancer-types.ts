/** What an enhancer gets and gives, apart so the explorers and the enhancers share it without a cycle. */
import type { Rng } from '../../math/rng.js';
import type { BanditEnv } from '../env.js';

export interface EnhancerInput {
  env: BanditEnv;
  /** π_t^1 (log-probs). */
  mainLogp: Float64Array;
  /** r_θt for every flat action (the MLE reward the main agent is the Gibbs policy of). */
  rewards: Float64Array;
  /** Σ_t = λI + Σ ΔφΔφᵀ over all pairs so far (d×d). */
  sigma: Float64Array;
  beta: number;
  /** Samples per context for 'best-worst' and 'uncertainty-pair'. */
  n: number;
  /** θ_t, the MLE behind `rewards` (needed by the 'thompson' explorer). */
  theta?: Float64Array;
  /** ε of the 'epsilon-greedy' explorer (default 0.1). */
  epsilon?: number;
}

export interface PreparedEnhancer {
  /**
   * Propose a pair for context c into out[0], out[1] (local action indices). Returns false when the
   * proposal is dropped (identical actions: no information, no label).
   */
  propose(c: number, rng: Rng, out: Int32Array): boolean;
  /** π_t^2 when the enhancer is a policy (uncertainty, symmetric, pi0). */
  policy: Float64Array | null;
  /** Exact Γ_t, η·KL(π_t^2‖π_t^1) and slack where defined (see docs); NaN entries are omitted. */
  diagnostics: Record<string, number>;
}
