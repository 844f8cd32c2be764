/**
 * `mle-gibbs`: the plain two-stage baseline with no pessimism. Fit the ridge BT-MLE θ̂ on the
 * offline pairs, then output its Gibbs policy π̂ ∝ π0·exp(⟨θ̂,φ⟩/η), the exact maximiser of the
 * estimated KL-regularised objective Ĵ_MLE (paper §1.3, §2.2 "exploitation" step).
 */
import { nPairs } from '../env.js';
import { gibbsOfTheta, klToRef } from '../policy.js';
import type { AlgorithmContext, AlgorithmResult, BanditAlgorithm } from './types.js';
import { fitThetaMle, requireNonNegative, requireNormBound, resolveOptions } from './offline-common.js';

export interface MleGibbsOptions {
  /** Ridge λ of the BT-MLE, L(θ) = Σ softplus(−⟨θ,Δφ⟩) + (λ/2)‖θ‖² (sum over pairs, not mean). */
  lambda: number;
  /** Optional MLE constraint ‖θ‖ ≤ B (paper §1.3); null = unconstrained ridge MLE. */
  normBound: number | null;
}

export const defaultMleGibbsOptions: MleGibbsOptions = { lambda: 1, normBound: null };

export const mleGibbs: BanditAlgorithm<Partial<MleGibbsOptions>> & { readonly defaults: MleGibbsOptions } = {
  name: 'mle-gibbs',
  setting: 'offline',
  description:
    'Two-stage baseline without pessimism: ridge Bradley–Terry MLE θ̂ on the offline pairs, then the Gibbs policy π ∝ π0·exp(⟨θ̂,φ⟩/η).',
  defaults: defaultMleGibbsOptions,
  checkOptions(options: Partial<MleGibbsOptions>) {
    const o = resolveOptions(this.name, defaultMleGibbsOptions, options);
    requireNonNegative(this.name, 'lambda', o.lambda);
    requireNormBound(this.name, o.normBound);
  },
  run(ctx: AlgorithmContext, options: Partial<MleGibbsOptions>): AlgorithmResult {
    const o = resolveOptions(this.name, defaultMleGibbsOptions, options);
    const lambda = requireNonNegative(this.name, 'lambda', o.lambda);
    const normBound = requireNormBound(this.name, o.normBound);
    const theta = fitThetaMle(ctx.env, ctx.offline, lambda, normBound);
    const policy = gibbsOfTheta(ctx.env, theta);
    return {
      policy,
      labelsUsed: nPairs(ctx.offline),
      thetaHat: theta,
      diagnostics: { lambda, klToRef: klToRef(ctx.env, policy) },
    };
  },
};
