/**
 * Enhancers for online / hybrid GSHF (paper §2.2–2.3): given the main agent π_t^1 = Gibbs(r_θt/η)
 * and the pair covariance Σ_t, decide how the two actions of each comparison are drawn.
 *
 *  - 'uncertainty'      the theoretical enhancer: π_t^2 = argmax Γ_t(λ, π_t^1, π') over the KL "budget"
 *                       set {π' : η·E_x KL(π'‖π_t^1) ≤ Γ_t(λ, π_t^1, π')}, solved over exponential
 *                       tilts of π_t^1 (see `uncertaintyEnhancer`); a1 ~ π_t^1, a2 ~ π_t^2.
 *  - 'best-worst'       RLHF Workflow's practical enhancer: n samples from π_t^1, pair best vs worst
 *                       under r_θt.
 *  - 'symmetric'        a1, a2 ~ π_t^1 independently (π_t^2 = π_t^1, Γ = 0).
 *  - 'pi0'              a1 ~ π_t^1, a2 ~ π0.
 *  - 'uncertainty-pair' n samples from π_t^1, the pair with the largest ‖Δφ‖_{Σ_t⁻¹} (the RLHFlow
 *                       fork's heuristic).
 * Every variant drops a proposal whose two actions are identical (Δφ = 0: no information, and it
 * contributes nothing to Σ either); the loop in online.ts keeps drawing until its label quota is met.
 */
import { cholesky, mahalanobisSq, symmetricEigen } from '../../math/linalg.js';
import { logSumExp } from '../../math/special.js';
import type { Rng } from '../../math/rng.js';
import type { BanditEnv } from '../env.js';
import { policyCdf, searchCdf } from '../oracle.js';
import { expectedFeatures, kl, meanFeature } from '../policy.js';
import { TiltEvaluator } from './tilt-evaluator.js';
import { EXPLORER_NAMES, prepareExplorer, type ExplorerName } from './explorers.js';
import type { EnhancerInput, PreparedEnhancer } from './enhancer-types.js';

export type { EnhancerInput, PreparedEnhancer };

export type EnhancerName =
  | 'uncertainty'
  | 'best-worst'
  | 'symmetric'
  | 'pi0'
  | 'uncertainty-pair'
  | ExplorerName;
export const ENHANCER_NAMES: readonly EnhancerName[] = [
  'uncertainty',
  'best-worst',
  'symmetric',
  'pi0',
  'uncertainty-pair',
  // Alternative exploration strategies (explorers.ts): Thompson sampling, optimism, ε-greedy.
  ...EXPLORER_NAMES,
];

// ---------------------------------------------------------------------------------------------
// Small helpers: d0-weighted mean features, Γ, symmetric eigendecomposition, tilts.

/**
 * Γ_t(λ, π1, π2) = β·‖E_{x,a~π1}φ − E_{x,a~π2}φ‖_{Σ⁻¹} given the Cholesky factor L of Σ and the
 * precomputed mean feature of π1.
 */
export function gammaFromMean(
  L: Float64Array,
  d: number,
  beta: number,
  mean1: ArrayLike<number>,
  mean2: ArrayLike<number>,
): number {
  const diff = new Float64Array(d);
  for (let j = 0; j < d; j++) diff[j] = mean1[j] - mean2[j];
  return beta * Math.sqrt(mahalanobisSq(L, d, diff));
}

/** Γ_t(λ, π1, π2) for policies given as log-probabilities. */
export function relativeGamma(
  env: BanditEnv,
  sigma: Float64Array,
  beta: number,
  logp1: ArrayLike<number>,
  logp2: ArrayLike<number>,
): number {
  return gammaFromMean(cholesky(sigma, env.d), env.d, beta, meanFeature(env, logp1), meanFeature(env, logp2));
}

// The eigensolver is shared with the offline algorithms (src/math/linalg.ts); re-exported for callers.
export { symmetricEigen };

/** log π'(a|x) ∝ log π(a|x) + s·z(x,a), normalised per context, written into `out`. */
export function tiltPolicy(
  env: BanditEnv,
  logp: ArrayLike<number>,
  z: ArrayLike<number>,
  s: number,
  out: Float64Array,
): Float64Array {
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) {
    const lo = off[c];
    const hi = off[c + 1];
    for (let a = lo; a < hi; a++) out[a] = logp[a] + s * z[a];
    const lz = logSumExp(out, lo, hi - lo);
    for (let a = lo; a < hi; a++) out[a] -= lz;
  }
  return out;
}

/** d0-weighted action-feature covariance C = E_x Cov_{a~π(·|x)} φ(x,a) (d×d). */
function withinContextCovariance(env: BanditEnv, logp: ArrayLike<number>): Float64Array {
  const d = env.d;
  const ef = expectedFeatures(env, logp);
  const C = new Float64Array(d * d);
  const off = env.offsets;
  const F = env.features;
  const diff = new Float64Array(d);
  for (let c = 0; c < env.nContexts; c++) {
    const w = env.weights[c];
    if (w === 0) continue;
    for (let a = off[c]; a < off[c + 1]; a++) {
      const p = Math.exp(logp[a]);
      if (p === 0) continue;
      for (let j = 0; j < d; j++) diff[j] = F[a * d + j] - ef[c * d + j];
      const wp = w * p;
      for (let i = 0; i < d; i++) {
        const x = wp * diff[i];
        for (let j = 0; j < d; j++) C[i * d + j] += x * diff[j];
      }
    }
  }
  return C;
}

// ---------------------------------------------------------------------------------------------
// The theoretical enhancer.

export interface UncertaintyEnhancerOptions {
  /** Confidence radius β in Γ. */
  beta: number;
  /** KL coefficient (default env.eta). */
  eta?: number;
  /** How many eigen-directions of each kind enter the candidate set (default min(d, 4)). */
  directionsPerKind?: number;
}

export interface UncertaintyEnhancerResult {
  /** π_t^2 (log-probs, flat layout). */
  policy: Float64Array;
  /** Γ_t(λ, π_t^1, π_t^2). */
  gamma: number;
  /** η·E_x KL(π_t^2 ‖ π_t^1). */
  etaKL: number;
  /** Γ − η·KL ≥ 0 (the constraint of the enhancer's feasible set). */
  slack: number;
  /** Tilt strength s and unit direction v of the chosen member π_t^1·exp(s⟨v,φ⟩). */
  s: number;
  direction: Float64Array;
  /** Number of candidate directions tried. */
  candidates: number;
}

/**
 * Candidate tilt directions (unit vectors, both signs):
 *  (a) eigenvectors of Σ_t for its smallest eigenvalues — the least-explored directions;
 *  (b) Σ_t⁻¹-weighted principal directions of C = E_x Cov_{π_t^1}φ: Σ_t⁻¹u for the top eigenvectors u
 *      of C (directions the main agent can actually move in, reweighted by how unexplored they are);
 *  (c) the top generalised eigenvectors of (C Σ_t⁻¹ C, C): to second order in s, a tilt along v has
 *      η·KL ≈ η s² vᵀCv/2 and Γ ≈ β s ‖Cv‖_{Σ⁻¹}, so the largest feasible Γ ≈ 2β²‖Cv‖²_{Σ⁻¹}/(η vᵀCv),
 *      maximised by these v. (a) and (b) guard against the higher-order terms.
 */
function candidateDirections(
  env: BanditEnv,
  sigma: Float64Array,
  L: Float64Array,
  C: Float64Array,
  k: number,
): Float64Array[] {
  const d = env.d;
  const out: Float64Array[] = [];
  const push = (v: Float64Array): void => {
    let n = 0;
    for (let j = 0; j < d; j++) n += v[j] * v[j];
    n = Math.sqrt(n);
    if (!(n > 1e-12) || !Number.isFinite(n)) return;
    const u = new Float64Array(d);
    for (let j = 0; j < d; j++) u[j] = v[j] / n;
    const neg = new Float64Array(d);
    for (let j = 0; j < d; j++) neg[j] = -u[j];
    out.push(u, neg);
  };
  const es = symmetricEigen(sigma, d);
  for (let i = 0; i < Math.min(k, d); i++) push(es.vectors.slice(i * d, (i + 1) * d));
  const ec = symmetricEigen(C, d);
  const y = new Float64Array(d);
  const solve = (b: ArrayLike<number>): Float64Array => {
    // Σ⁻¹b from the Cholesky factor (forward then back substitution).
    for (let i = 0; i < d; i++) {
      let s = b[i];
      for (let q = 0; q < i; q++) s -= L[i * d + q] * y[q];
      y[i] = s / L[i * d + i];
    }
    const x = new Float64Array(d);
    for (let i = d - 1; i >= 0; i--) {
      let s = y[i];
      for (let q = i + 1; q < d; q++) s -= L[q * d + i] * x[q];
      x[i] = s / L[i * d + i];
    }
    return x;
  };
  for (let i = d - 1; i >= Math.max(0, d - k); i--) push(solve(ec.vectors.slice(i * d, (i + 1) * d)));
  // (c) With C = U diag(c) Uᵀ, M = C^{1/2} Σ⁻¹ C^{1/2}; top eigenvectors w of M give v = C^{+1/2} w.
  const cmax = ec.values[d - 1];
  if (cmax > 0) {
    const half = new Float64Array(d * d);
    const halfPinv = new Float64Array(d * d);
    for (let r = 0; r < d; r++) {
      const lam = ec.values[r];
      if (!(lam > 1e-10 * cmax)) continue;
      const sq = Math.sqrt(lam);
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++) {
          const uu = ec.vectors[r * d + i] * ec.vectors[r * d + j];
          half[i * d + j] += sq * uu;
          halfPinv[i * d + j] += uu / sq;
        }
    }
    const SinvHalf = new Float64Array(d * d);
    for (let j = 0; j < d; j++) {
      const col = new Float64Array(d);
      for (let i = 0; i < d; i++) col[i] = half[i * d + j];
      const x = solve(col);
      for (let i = 0; i < d; i++) SinvHalf[i * d + j] = x[i];
    }
    const M = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let q = 0; q < d; q++) s += half[i * d + q] * SinvHalf[q * d + j];
        M[i * d + j] = s;
      }
    for (let i = 0; i < d; i++)
      for (let j = i + 1; j < d; j++) {
        const m = 0.5 * (M[i * d + j] + M[j * d + i]);
        M[i * d + j] = m;
        M[j * d + i] = m;
      }
    const em = symmetricEigen(M, d);
    for (let r = d - 1; r >= Math.max(0, d - k); r--) {
      const w = em.vectors.slice(r * d, (r + 1) * d);
      const v = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let q = 0; q < d; q++) s += halfPinv[i * d + q] * w[q];
        v[i] = s;
      }
      push(v);
    }
  }
  return out;
}

/**
 * The paper's theoretical enhancer, solved over a documented family. The feasible set is
 * {π' : η·E_x KL(π'‖π_t^1) ≤ Γ_t(λ, π_t^1, π')}; we search exponential tilts
 *   π'_{s,v}(a|x) ∝ π_t^1(a|x)·exp(s·⟨v, φ(x,a)⟩),  s ≥ 0, v ∈ candidateDirections.
 * The family loses nothing: Γ depends on π' only via its mean feature, and the least-KL π' with a
 * given mean feature is such a tilt (I-projection), so only the direction search is approximate.
 * For each v, η·KL grows like s² and Γ like s near 0, so small s are feasible; starting from a
 * quarter of the second-order estimate of the crossing we double s until the constraint fails (or s
 * reaches a cap where the tilt is a hard argmax), bisect to the crossing s⋆ (the first one found),
 * then evaluate Γ at s⋆ and s⋆/2 (Γ need not be monotone in s) and keep the feasible member with the
 * largest Γ. The winner is re-checked with policy.ts's KL and mean features and s is stepped back
 * (×0.99) until the constraint holds there too, so the reported slack is ≥ 0.
 * If no direction admits s > 0 (π_t^1 deterministic everywhere), π_t^2 = π_t^1 with Γ = 0.
 */
export function uncertaintyEnhancer(
  env: BanditEnv,
  mainLogp: ArrayLike<number>,
  sigma: Float64Array,
  opts: UncertaintyEnhancerOptions,
): UncertaintyEnhancerResult {
  const d = env.d;
  const eta = opts.eta ?? env.eta;
  const beta = opts.beta;
  if (!(beta > 0)) throw new RangeError(`uncertaintyEnhancer: beta must be > 0, got ${beta}`);
  const k = opts.directionsPerKind ?? Math.min(d, 4);
  const L = cholesky(sigma, d);
  const mean1 = meanFeature(env, mainLogp);
  const C = withinContextCovariance(env, mainLogp);
  const dirs = candidateDirections(env, sigma, L, C, k);
  const A = env.offsets[env.nContexts];
  const scratch = new Float64Array(d);
  const F = env.features;
  // Feature scale bounds how large s must get before the tilt is effectively an argmax.
  let fmax = 0;
  for (let a = 0; a < A; a++) {
    let q = 0;
    for (let j = 0; j < d; j++) q += F[a * d + j] ** 2;
    fmax = Math.max(fmax, Math.sqrt(q));
  }
  const sCap = 200 / Math.max(fmax, 1e-12);
  const Cv = new Float64Array(d);
  const tilt = new TiltEvaluator(env, mainLogp, L, mean1, beta, eta);
  const evaluate = (s: number) => tilt.evaluate(s);

  let bestGamma = 0;
  let bestS = 0;
  let bestV: Float64Array | null = null;
  for (const v of dirs) {
    tilt.setDirection(v);
    // Second-order guess of the crossing, s0 = 2β‖Cv‖_{Σ⁻¹}/(η vᵀCv); bracket from s0/4 by doubling.
    for (let i = 0; i < d; i++) {
      let q = 0;
      for (let j = 0; j < d; j++) q += C[i * d + j] * v[j];
      Cv[i] = q;
    }
    let vCv = 0;
    for (let j = 0; j < d; j++) vCv += v[j] * Cv[j];
    if (!(vCv > 1e-14)) continue; // π1 cannot move along v (e.g. deterministic contexts).
    const s0 = (2 * beta * Math.sqrt(mahalanobisSq(L, d, Cv, scratch))) / (eta * vCv);
    let lo = 0;
    let hi = Math.min(Math.max(s0 / 4, 1e-6 / Math.max(fmax, 1e-12)), sCap);
    let capped = false;
    for (;;) {
      const e = evaluate(hi);
      if (e.etaKL > e.gamma) break;
      lo = hi;
      if (hi >= sCap) {
        capped = true;
        break;
      }
      hi = Math.min(2 * hi, sCap);
    }
    if (!capped) {
      // lo stays feasible throughout; s within 1e-3 (relative) of the crossing changes Γ by < 0.1%.
      for (let it = 0; it < 60 && hi - lo > 1e-3 * hi; it++) {
        const mid = 0.5 * (lo + hi);
        const e = evaluate(mid);
        if (e.etaKL <= e.gamma) lo = mid;
        else hi = mid;
      }
    }
    if (!(lo > 0)) continue;
    for (const f of [1, 0.5]) {
      const s = lo * f;
      const e = evaluate(s);
      if (!(e.etaKL <= e.gamma)) continue;
      if (e.gamma > bestGamma) {
        bestGamma = e.gamma;
        bestS = s;
        bestV = v;
      }
    }
  }
  if (bestV === null) {
    return {
      policy: Float64Array.from(mainLogp),
      gamma: 0,
      etaKL: 0,
      slack: 0,
      s: 0,
      direction: new Float64Array(d),
      candidates: dirs.length,
    };
  }
  // Materialise π2 and re-check with the library's KL / mean-feature code (independent of the fused
  // pass); step s back if rounding put it a hair outside the feasible set.
  const direction = Float64Array.from(bestV);
  tilt.setDirection(direction);
  const z = tilt.z;
  const policy = new Float64Array(A);
  let s = bestS;
  for (let k = 0; k < 200; k++) {
    tiltPolicy(env, mainLogp, z, s, policy);
    const gamma = gammaFromMean(L, d, beta, mean1, meanFeature(env, policy));
    const etaKL = eta * kl(env, policy, mainLogp);
    if (etaKL <= gamma)
      return { policy, gamma, etaKL, slack: gamma - etaKL, s, direction, candidates: dirs.length };
    s *= 0.99;
  }
  return {
    policy: Float64Array.from(mainLogp),
    gamma: 0,
    etaKL: 0,
    slack: 0,
    s: 0,
    direction: new Float64Array(d),
    candidates: dirs.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Pair proposers: one per enhancer, prepared once per iteration.

/**
 * Index into samples of the max (sign = 1) / min (sign = −1) reward. Reward ties are broken by the
 * random keys in the same direction (max key for best, min key for worst), so with a constant reward
 * best and worst are two different samples.
 */
function extremeSample(
  samples: Int32Array,
  n: number,
  r: Float64Array,
  base: number,
  keys: Float64Array,
  sign: number,
): number {
  let bi = 0;
  for (let i = 1; i < n; i++) {
    const di = sign * (r[base + samples[i]] - r[base + samples[bi]]);
    if (di > 0 || (di === 0 && sign * (keys[i] - keys[bi]) > 0)) bi = i;
  }
  return bi;
}

/**
 * Best-of-n vs worst-of-n under r_θ for one context, from n given samples (local indices). Equal
 * rewards among *different* actions are broken by random keys (so a constant reward, e.g. θ_1 = 0 at
 * the start of an online run, still yields a pair of distinct samples); the pair is dropped (null)
 * when best and worst are the same action — the RLHF Workflow rule.
 */
export function bestWorstPair(
  samples: Int32Array,
  n: number,
  rewards: Float64Array,
  base: number,
  keys: Float64Array,
): [number, number] | null {
  const b = samples[extremeSample(samples, n, rewards, base, keys, 1)];
  const w = samples[extremeSample(samples, n, rewards, base, keys, -1)];
  return b === w ? null : [b, w];
}

/** Exact marginals of best-of-n and worst-of-n of π under r (ties in r ordered by index; diagnostics only). */
function bestWorstMarginals(
  env: BanditEnv,
  logp: Float64Array,
  r: Float64Array,
  n: number,
): { best: Float64Array; worst: Float64Array } {
  const A = env.offsets[env.nContexts];
  const best = new Float64Array(A);
  const worst = new Float64Array(A);
  for (let c = 0; c < env.nContexts; c++) {
    const lo = env.offsets[c];
    const hi = env.offsets[c + 1];
    const idx: number[] = [];
    for (let a = lo; a < hi; a++) idx.push(a);
    idx.sort((x, y) => r[x] - r[y] || x - y);
    let F = 0;
    for (const a of idx) {
      const p = Math.exp(logp[a]);
      const F2 = Math.min(1, F + p);
      best[a] = Math.log(Math.max(F2 ** n - F ** n, 0));
      worst[a] = Math.log(Math.max((1 - F) ** n - (1 - F2) ** n, 0));
      F = F2;
    }
    // Renormalise away rounding so the marginals are exact distributions.
    const zb = logSumExp(best, lo, hi - lo);
    const zw = logSumExp(worst, lo, hi - lo);
    for (let a = lo; a < hi; a++) {
      best[a] -= zb;
      worst[a] -= zw;
    }
  }
  return { best, worst };
}

function policyDiagnostics(
  env: BanditEnv,
  L: Float64Array,
  beta: number,
  logp1: Float64Array,
  logp2: Float64Array,
): Record<string, number> {
  const gamma = gammaFromMean(L, env.d, beta, meanFeature(env, logp1), meanFeature(env, logp2));
  const etaKL = env.eta * kl(env, logp2, logp1);
  return { enhancerGamma: gamma, enhancerEtaKL: etaKL, enhancerSlack: gamma - etaKL };
}

/**
 * Prepare the enhancer of iteration t. Diagnostics (all exact, no sampling):
 *  - policy enhancers: enhancerGamma = Γ_t(λ, π_t^1, π_t^2), enhancerEtaKL = η·E_x KL(π_t^2‖π_t^1),
 *    enhancerSlack = their difference (≥ 0 means π_t^2 is in the paper's feasible set; only
 *    'uncertainty' guarantees it);
 *  - 'best-worst': the same three for the induced pair (π^1, π^2) = (best-of-n, worst-of-n) of π_t^1,
 *    i.e. Γ between the two marginals and η·KL(worst-of-n ‖ best-of-n), which is usually large;
 *  - 'uncertainty-pair': none beyond the tilt-free quantities (its marginals have no closed form).
 */
export function prepareEnhancer(name: EnhancerName, input: EnhancerInput): PreparedEnhancer {
  const { env, mainLogp, rewards, sigma, beta, n } = input;
  const d = env.d;
  const L = cholesky(sigma, d);
  const off = env.offsets;
  const cdf1 = policyCdf(env, mainLogp);
  const draw = (cdf: Float64Array, c: number, rng: Rng): number =>
    searchCdf(cdf, off[c], off[c + 1], rng.uniform());
  switch (name) {
    case 'thompson':
    case 'optimism':
    case 'epsilon-greedy':
      return prepareExplorer(name, input);
    case 'symmetric':
      return {
        policy: mainLogp,
        diagnostics: { enhancerGamma: 0, enhancerEtaKL: 0, enhancerSlack: 0 },
        propose(c, rng, out) {
          out[0] = draw(cdf1, c, rng);
          out[1] = draw(cdf1, c, rng);
          return out[0] !== out[1];
        },
      };
    case 'pi0': {
      const cdf0 = policyCdf(env, env.refLogprobs);
      return {
        policy: env.refLogprobs,
        diagnostics: policyDiagnostics(env, L, beta, mainLogp, env.refLogprobs),
        propose(c, rng, out) {
          out[0] = draw(cdf1, c, rng);
          out[1] = draw(cdf0, c, rng);
          return out[0] !== out[1];
        },
      };
    }
    case 'uncertainty': {
      const u = uncertaintyEnhancer(env, mainLogp, sigma, { beta });
      const cdf2 = policyCdf(env, u.policy);
      return {
        policy: u.policy,
        diagnostics: {
          enhancerGamma: u.gamma,
          enhancerEtaKL: u.etaKL,
          enhancerSlack: u.slack,
          enhancerTilt: u.s,
          enhancerCandidates: u.candidates,
        },
        propose(c, rng, out) {
          out[0] = draw(cdf1, c, rng);
          out[1] = draw(cdf2, c, rng);
          return out[0] !== out[1];
        },
      };
    }
    case 'best-worst': {
      if (!(n >= 2)) throw new RangeError(`best-worst enhancer: n must be ≥ 2, got ${n}`);
      const samples = new Int32Array(n);
      const keys = new Float64Array(n);
      const marg = bestWorstMarginals(env, mainLogp, rewards, n);
      return {
        policy: null,
        diagnostics: policyDiagnostics(env, L, beta, marg.best, marg.worst),
        propose(c, rng, out) {
          for (let i = 0; i < n; i++) {
            samples[i] = draw(cdf1, c, rng);
            keys[i] = rng.uniform();
          }
          const p = bestWorstPair(samples, n, rewards, off[c], keys);
          if (p === null) return false;
          out[0] = p[0];
          out[1] = p[1];
          return true;
        },
      };
    }
    case 'uncertainty-pair': {
      if (!(n >= 2)) throw new RangeError(`uncertainty-pair enhancer: n must be ≥ 2, got ${n}`);
      const samples = new Int32Array(n);
      const diff = new Float64Array(d);
      const scratch = new Float64Array(d);
      const F = env.features;
      return {
        policy: null,
        diagnostics: {},
        propose(c, rng, out) {
          for (let i = 0; i < n; i++) samples[i] = draw(cdf1, c, rng);
          let bestV = 0;
          let bi = -1;
          let bj = -1;
          for (let i = 0; i < n; i++)
            for (let j = i + 1; j < n; j++) {
              if (samples[i] === samples[j]) continue;
              const fi = (off[c] + samples[i]) * d;
              const fj = (off[c] + samples[j]) * d;
              for (let q = 0; q < d; q++) diff[q] = F[fi + q] - F[fj + q];
              const v = mahalanobisSq(L, d, diff, scratch);
              if (v > bestV) {
                bestV = v;
                bi = i;
                bj = j;
              }
            }
          if (bi < 0) return false;
          out[0] = samples[bi];
          out[1] = samples[bj];
          return true;
        },
      };
    }
    default: {
      const never: never = name;
      throw new RangeError(`unknown enhancer '${String(never)}' (expected ${ENHANCER_NAMES.join('|')})`);
    }
  }
}
