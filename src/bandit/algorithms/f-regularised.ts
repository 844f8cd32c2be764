/**
 * `mle-f`: the two-stage baseline with another regulariser. Fit the ridge BT-MLE θ̂ on the offline
 * pairs, then output the exact maximiser of Ĵ_f(π) = E_x[E_π r_θ̂ − η·D_f(π‖π0)] for a divergence of
 * the registry (src/bandit/divergences): with 'reverse-kl' it is `mle-gibbs` exactly. The result
 * names its regulariser, so the experiment runner also reports D_f(π̂‖π0) and the gap under f.
 */
import { nPairs } from '../env.js';
import { klToRef, rewardsOf } from '../policy.js';
import { DIVERGENCE_NAMES, getDivergence, type DivergenceName } from '../divergences/registry.js';
import { fDivergence, fOptimal } from '../divergences/optimum.js';
import type { AlgorithmContext, AlgorithmResult, BanditAlgorithm } from './types.js';
import {
  fitThetaMle,
  requireNonNegative,
  requireNormBound,
  requireOneOf,
  resolveOptions,
} from './offline-common.js';

export interface MleFOptions {
  /** Ridge λ of the BT-MLE (as in mle-gibbs). */
  lambda: number;
  /** Optional MLE constraint ‖θ‖ ≤ B; null = none. */
  normBound: number | null;
  /** The regulariser D_f (registry name). */
  divergence: DivergenceName;
  /** α of the 'alpha' divergence, in (0, 1). */
  alpha: number;
}

export const defaultMleFOptions: MleFOptions = {
  lambda: 1,
  normBound: null,
  divergence: 'reverse-kl',
  alpha: 0.5,
};

function validate(name: string, options: Partial<MleFOptions> | undefined): MleFOptions {
  const o = resolveOptions(name, defaultMleFOptions, options);
  requireNonNegative(name, 'lambda', o.lambda);
  requireNormBound(name, o.normBound);
  requireOneOf(name, 'divergence', o.divergence, DIVERGENCE_NAMES);
  if (!(typeof o.alpha === 'number' && o.alpha > 0 && o.alpha < 1))
    throw new Error(`${name}: option alpha must be a number in (0, 1), got ${String(o.alpha)}`);
  return o;
}

export const mleF: BanditAlgorithm<Partial<MleFOptions>> & { readonly defaults: MleFOptions } = {
  name: 'mle-f',
  setting: 'offline',
  description:
    'Ridge Bradley–Terry MLE θ̂ on the offline pairs, then the exact maximiser of E r_θ̂ − η·D_f(π‖π0) for an ' +
    'f-divergence (reverse-kl = mle-gibbs, forward-kl, alpha, js, chi2, chi2-kl).',
  defaults: defaultMleFOptions,
  checkOptions(options) {
    validate(this.name, options);
  },
  run(ctx: AlgorithmContext, options: Partial<MleFOptions>): AlgorithmResult {
    const o = validate(this.name, options);
    const div = getDivergence(o.divergence, { alpha: o.alpha });
    const theta = fitThetaMle(ctx.env, ctx.offline, o.lambda, o.normBound);
    const policy = fOptimal(ctx.env, rewardsOf(ctx.env, theta), div);
    return {
      policy,
      labelsUsed: nPairs(ctx.offline),
      thetaHat: theta,
      regulariser: { divergence: o.divergence, alpha: o.alpha },
      diagnostics: {
        lambda: o.lambda,
        klToRef: klToRef(ctx.env, policy),
        divergenceToRef: fDivergence(ctx.env, policy, ctx.env.refLogprobs, div),
      },
    };
  },
};
