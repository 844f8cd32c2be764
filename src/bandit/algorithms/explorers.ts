/**
 * Exploration strategies other than the paper's enhancer, as enhancers of the online loop
 * (online.ts; registered in enhancers.ts). In each, a1 ~ π_t^1 (the main agent stays pure
 * exploitation, as in the paper) and only the second action explores:
 *
 *  - 'thompson'        a2 ~ Gibbs(π0, r_θ̃/η)(·|x) with a fresh posterior draw θ̃ ~ N(θ̂_t, ν²Σ_t⁻¹) per
 *                      proposal (ν = the loop's β; Σ_t = λI + Σ ΔφΔφᵀ is the Laplace precision of the
 *                      ridge BT-MLE up to the logistic weights): Thompson sampling for the KL-regularised
 *                      problem, the linear analogue of oat's ensemble sampler.
 *  - 'optimism'        a2 ~ Gibbs(π0, r⁺/η) with the upper-confidence reward
 *                      r⁺(x,a) = r_θ̂(x,a) + β·‖φ(x,a) − φ(x,π_t^1)‖_{Σ_t⁻¹} (the bonus measured against
 *                      the main agent's mean feature, the paper's point-wise Γ with ν = φ(x,π_t^1)).
 *  - 'epsilon-greedy'  a2 ~ (1 − ε)·π_t^1 + ε·uniform: with probability ε a uniformly random response.
 *
 * Identical pairs are dropped as for every enhancer. 'optimism' and 'epsilon-greedy' have an explicit
 * π_t^2 and report the exact Γ_t, η·KL(π_t^2‖π_t^1) and slack; Thompson's π_t^2 is the posterior
 * mixture of Gibbs policies, which has no closed form, so it reports none.
 */
import { backSolveT, cholesky } from '../../math/linalg.js';
import { logSumExp } from '../../math/special.js';
import type { Rng } from '../../math/rng.js';
import type { BanditEnv } from '../env.js';
import { policyCdf, searchCdf } from '../oracle.js';
import { expectedFeatures, gibbs, kl } from '../policy.js';
import { Uncertainty } from '../uncertainty.js';
import type { EnhancerInput, PreparedEnhancer } from './enhancer-types.js';

export type ExplorerName = 'thompson' | 'optimism' | 'epsilon-greedy';
export const EXPLORER_NAMES: readonly ExplorerName[] = ['thompson', 'optimism', 'epsilon-greedy'];

/**
 * θ̃ = θ̂ + ν·L⁻ᵀz with z ~ N(0, I) and Σ = LLᵀ, so θ̃ ~ N(θ̂, ν²Σ⁻¹) (Cov = ν²L⁻ᵀL⁻¹ = ν²Σ⁻¹).
 * `L` is the lower Cholesky factor of Σ (d×d row-major); writes into `out`.
 */
export function drawGaussianFromPrecision(
  L: ArrayLike<number>,
  d: number,
  mean: ArrayLike<number>,
  nu: number,
  rng: Rng,
  out: Float64Array = new Float64Array(d),
  z: Float64Array = new Float64Array(d),
): Float64Array {
  for (let j = 0; j < d; j++) z[j] = rng.normal();
  backSolveT(L, d, z, z);
  for (let j = 0; j < d; j++) out[j] = mean[j] + nu * z[j];
  return out;
}

/** Γ_t(π_t^1, π_t^2), η·KL(π_t^2‖π_t^1) and their difference for an explicit second policy. */
function explicitDiagnostics(
  env: BanditEnv,
  unc: Uncertainty,
  beta: number,
  main: Float64Array,
  second: Float64Array,
): Record<string, number> {
  const gamma = beta * unc.relative(env, main, second);
  const etaKL = env.eta * kl(env, second, main);
  return { enhancerGamma: gamma, enhancerEtaKL: etaKL, enhancerSlack: gamma - etaKL };
}

/** a1 ~ π_t^1, a2 ~ π_t^2 by inverse CDF; a tie is dropped. */
function policyPair(env: BanditEnv, main: Float64Array, second: Float64Array) {
  const off = env.offsets;
  const cdf1 = policyCdf(env, main);
  const cdf2 = policyCdf(env, second);
  return (c: number, rng: Rng, out: Int32Array): boolean => {
    out[0] = searchCdf(cdf1, off[c], off[c + 1], rng.uniform());
    out[1] = searchCdf(cdf2, off[c], off[c + 1], rng.uniform());
    return out[0] !== out[1];
  };
}

function thompson(input: EnhancerInput, L: Float64Array): PreparedEnhancer {
  const { env, mainLogp, beta } = input;
  const theta = input.theta;
  if (!theta) throw new RangeError('thompson explorer: the loop must pass θ̂ (EnhancerInput.theta)');
  const d = env.d;
  const off = env.offsets;
  const F = env.features;
  const eta = env.eta;
  const cdf1 = policyCdf(env, mainLogp);
  let K = 0;
  for (let c = 0; c < env.nContexts; c++) K = Math.max(K, off[c + 1] - off[c]);
  const tilde = new Float64Array(d);
  const z = new Float64Array(d);
  const logits = new Float64Array(K);
  return {
    policy: null,
    diagnostics: { thompsonScale: beta },
    propose(c, rng, out) {
      out[0] = searchCdf(cdf1, off[c], off[c + 1], rng.uniform());
      drawGaussianFromPrecision(L, d, theta, beta, rng, tilde, z);
      const s = off[c];
      const len = off[c + 1] - s;
      for (let k = 0; k < len; k++) {
        let h = 0;
        const o = (s + k) * d;
        for (let j = 0; j < d; j++) h += F[o + j] * tilde[j];
        logits[k] = env.refLogprobs[s + k] + h / eta;
      }
      // Gibbs(π0, r_θ̃/η) on this context only, sampled by inverse CDF.
      const lz = logSumExp(logits, 0, len);
      let acc = 0;
      for (let k = 0; k < len; k++) {
        acc += Math.exp(logits[k] - lz);
        logits[k] = acc;
      }
      out[1] = searchCdf(logits, 0, len, rng.uniform());
      return out[0] !== out[1];
    },
  };
}

/** r⁺(x,a) = r_θ̂(x,a) + β·‖φ(x,a) − φ(x,π_t^1)‖_{Σ⁻¹} for every flat action. */
export function optimisticRewards(
  env: BanditEnv,
  rewards: ArrayLike<number>,
  mainLogp: ArrayLike<number>,
  unc: Uncertainty,
  beta: number,
): Float64Array {
  const bonus = unc.pointwise(env, expectedFeatures(env, mainLogp));
  const out = new Float64Array(bonus.length);
  for (let a = 0; a < out.length; a++) out[a] = rewards[a] + beta * bonus[a];
  return out;
}

/** log((1 − ε)·π(a|x) + ε/K_x) for every flat action. */
export function epsilonMixture(env: BanditEnv, logp: ArrayLike<number>, epsilon: number): Float64Array {
  if (!(epsilon >= 0 && epsilon <= 1))
    throw new RangeError(`epsilon-greedy explorer: epsilon must be in [0, 1], got ${epsilon}`);
  const out = new Float64Array(logp.length);
  for (let c = 0; c < env.nContexts; c++) {
    const s = env.offsets[c];
    const e = env.offsets[c + 1];
    const lu = Math.log(epsilon) - Math.log(e - s);
    const lm = Math.log1p(-epsilon);
    for (let a = s; a < e; a++) {
      const x = lm + logp[a];
      const m = Math.max(x, lu);
      out[a] = m === -Infinity ? -Infinity : m + Math.log(Math.exp(x - m) + Math.exp(lu - m));
    }
  }
  return out;
}

/** Prepare one of the explorers for iteration t (called from enhancers.ts's prepareEnhancer). */
export function prepareExplorer(name: ExplorerName, input: EnhancerInput): PreparedEnhancer {
  const { env, mainLogp, rewards, sigma, beta } = input;
  switch (name) {
    case 'thompson':
      return thompson(input, cholesky(sigma, env.d));
    case 'optimism': {
      const unc = new Uncertainty(sigma, env.d);
      const second = gibbs(env, optimisticRewards(env, rewards, mainLogp, unc, beta));
      return {
        policy: second,
        diagnostics: explicitDiagnostics(env, unc, beta, mainLogp, second),
        propose: policyPair(env, mainLogp, second),
      };
    }
    case 'epsilon-greedy': {
      const eps = input.epsilon ?? 0.1;
      const second = epsilonMixture(env, mainLogp, eps);
      return {
        policy: second,
        diagnostics: {
          ...explicitDiagnostics(env, new Uncertainty(sigma, env.d), beta, mainLogp, second),
          epsilon: eps,
        },
        propose: policyPair(env, mainLogp, second),
      };
    }
    default: {
      const never: never = name;
      throw new RangeError(`unknown explorer '${String(never)}' (expected ${EXPLORER_NAMES.join('|')})`);
    }
  }
}
