/**
 * Offline GSHF with pessimism (paper §2.1), both options, solved exactly.
 *
 *  Option I  (expected pessimism):  π̂ = argmax_π Ĵ_MLE(π) − β·Γ^e(π, ν),
 *            Γ^e(π,ν) = ‖E_x[φ(x,π) − ν(x)]‖_{Σ⁻¹}.
 *  Option II (point-wise pessimism): r̂(x,a) = ⟨θ̂,φ(x,a)⟩ − β·‖φ(x,a) − ν(x)‖_{Σ⁻¹},  π̂ ∝ π0·exp(r̂/η).
 *
 * Σ = λI + Σ_i Δφ_iΔφ_iᵀ over the offline pairs (the same λ as the MLE ridge). ν is not pinned down
 * by the paper; we offer ν = π0's mean feature (default) or the data's empirical mean feature.
 *
 * Option I by duality. ‖w‖_{Σ⁻¹} = max_{‖u‖_Σ≤1} ⟨u,w⟩, so the objective is
 *   max_π min_{‖u‖_Σ≤1} E_x[E_π⟨θ̂ − βu, φ⟩ − η·KL(π‖π0)] + β⟨u, ν̄⟩,   ν̄ = E_x ν(x).
 * It is concave in π, linear in u, and the u-set is a compact ellipsoid, so min and max swap:
 *   F(u) = V(θ̂ − βu) + β⟨u, ν̄⟩,   V(θ) = E_x η·log Σ_a π0(a|x)·exp(⟨θ,φ(x,a)⟩/η),
 * is convex, and π̂ = Gibbs(θ̂ − βu*) for u* = argmin F (the inner argmax over π is unique).
 * We minimise F in whitened coordinates z = Lᵀu (Σ = LLᵀ, feasible set ‖z‖ ≤ 1) by proximal
 * Newton: each step minimises the exact quadratic model over the unit ball (eigendecomposition +
 * secular equation), then backtracks. For u in the ellipsoid and π_u = Gibbs(θ̂ − βu),
 *   F(u) − P(π_u) = β(‖m̄ − ν̄‖_{Σ⁻¹} − ⟨u, m̄ − ν̄⟩) ≥ 0,   m̄ = E_x φ(x, π_u),
 * where P is the primal objective; since P(π_u) ≤ P* = F* ≤ F(u), this is a certified duality gap
 * (it equals the Frank–Wolfe gap ‖∇G(z)‖ + ⟨z, ∇G(z)⟩) and is our stopping rule.
 */
import { nPairs, type BanditEnv } from '../env.js';
import { backSolveT, cholesky, forwardSolve, symmetricEigen } from '../../math/linalg.js';
import { logSumExp } from '../../math/special.js';
import { gibbs, gibbsOfTheta, klToRef, rewardsOf } from '../policy.js';
import { pairCovariance, Uncertainty } from '../uncertainty.js';
import type { AlgorithmContext, AlgorithmResult, BanditAlgorithm } from './types.js';
import {
  fitThetaMle,
  meanReference,
  referenceFeatures,
  requireNonNegative,
  requireNormBound,
  requireOneOf,
  requirePositive,
  resolveOptions,
  theoryBeta,
  type Reference,
} from './offline-common.js';

export interface PessimismOptions {
  /**
   * Pessimism scale β ≥ 0, or 'theory' for c·√((d + log(1/δ))/γ² + λB²) (see theoryBeta). The
   * default 1 is a practical choice: the theory radius is valid but very conservative.
   */
  beta: number | 'theory';
  /** Ridge λ > 0 of both the MLE and Σ = λI + Σ ΔφΔφᵀ (Σ must be invertible). */
  lambda: number;
  /** Optional MLE constraint ‖θ‖ ≤ B; null = unconstrained ridge MLE. */
  normBound: number | null;
  /** Centre ν of the uncertainty: π0's mean feature ('pi0') or the data's ('data'). */
  nu: Reference;
  /** δ of the 'theory' β. */
  delta: number;
  /** Assumed ‖θ*‖ bound B of the 'theory' β. */
  betaNormBound: number;
  /** Constant c of the 'theory' β. */
  betaScale: number;
}

export type Option1Options = PessimismOptions;
export type Option2Options = PessimismOptions;

export const defaultPessimismOptions: PessimismOptions = {
  beta: 1,
  lambda: 1,
  normBound: null,
  nu: 'pi0',
  delta: 0.05,
  betaNormBound: 1,
  betaScale: 1,
};
export const defaultOption1Options: Option1Options = { ...defaultPessimismOptions };
export const defaultOption2Options: Option2Options = { ...defaultPessimismOptions };

interface ResolvedPessimism {
  beta: number;
  lambda: number;
  normBound: number | null;
  nu: Reference;
}

function resolvePessimism(
  name: string,
  options: Partial<PessimismOptions> | undefined,
  d: number,
): ResolvedPessimism {
  const o = resolveOptions(name, defaultPessimismOptions, options);
  const lambda = requirePositive(name, 'lambda', o.lambda);
  const normBound = requireNormBound(name, o.normBound);
  const nu = requireOneOf(name, 'nu', o.nu, ['pi0', 'data'] as const);
  let beta: number;
  if (o.beta === 'theory') {
    beta = theoryBeta(d, lambda, {
      delta: requirePositive(name, 'delta', o.delta),
      normBound: requirePositive(name, 'betaNormBound', o.betaNormBound),
      scale: requireNonNegative(name, 'betaScale', o.betaScale),
    });
    if (!(o.delta < 1)) throw new Error(`${name}: option delta must be in (0,1), got ${o.delta}`);
  } else beta = requireNonNegative(name, 'beta', o.beta);
  return { beta, lambda, normBound, nu };
}

// ───────────────────────────── Option II ─────────────────────────────

/** r̂(x,a) = ⟨θ̂,φ(x,a)⟩ − β·Γ(x,a,ν) for every flat action. */
export function pointwisePessimisticRewards(
  env: BanditEnv,
  theta: ArrayLike<number>,
  unc: Uncertainty,
  nuFeatures: Float64Array,
  beta: number,
): Float64Array {
  const r = rewardsOf(env, theta);
  if (beta === 0) return r;
  const g = unc.pointwise(env, nuFeatures);
  for (let a = 0; a < r.length; a++) r[a] -= beta * g[a];
  return r;
}

export const gshfOfflineOption2: BanditAlgorithm<Partial<Option2Options>> & {
  readonly defaults: Option2Options;
} = {
  name: 'gshf-offline-option2',
  setting: 'offline',
  description:
    'Offline GSHF, Option II (point-wise pessimism): Gibbs policy of r̂(x,a) = r_MLE(x,a) − β·‖φ(x,a) − ν(x)‖_{Σ⁻¹}, Σ = λI + Σ ΔφΔφᵀ over the offline pairs.',
  defaults: defaultOption2Options,
  checkOptions(options: Partial<Option2Options>, d: number) {
    resolvePessimism(this.name, options, d);
  },
  run(ctx: AlgorithmContext, options: Partial<Option2Options>): AlgorithmResult {
    const { env, offline } = ctx;
    const o = resolvePessimism(this.name, options, env.d);
    const theta = fitThetaMle(env, offline, o.lambda, o.normBound);
    const unc = new Uncertainty(pairCovariance(env, offline, o.lambda), env.d);
    const nuF = referenceFeatures(env, offline, o.nu);
    const policy = gibbs(env, pointwisePessimisticRewards(env, theta, unc, nuF, o.beta));
    return {
      policy,
      labelsUsed: nPairs(offline),
      thetaHat: theta,
      diagnostics: {
        beta: o.beta,
        lambda: o.lambda,
        klToRef: klToRef(env, policy),
        gammaE: unc.expected(env, policy, nuF),
      },
    };
  },
};

// ───────────────────────────── Option I ─────────────────────────────

/** V(θ), ∇V(θ) = E_x φ(x, Gibbs(θ)) and optionally ∇²V(θ) = (1/η)·E_x Cov_{Gibbs(θ)}(φ). */
interface SoftValue {
  value: number;
  grad: Float64Array;
  hess: Float64Array | null;
}

function softValue(env: BanditEnv, theta: ArrayLike<number>, eta: number, wantHessian: boolean): SoftValue {
  const d = env.d;
  const F = env.features;
  const r = rewardsOf(env, theta);
  const grad = new Float64Array(d);
  const hess = wantHessian ? new Float64Array(d * d) : null;
  const mc = new Float64Array(d);
  let value = 0;
  for (let c = 0; c < env.nContexts; c++) {
    const s = env.offsets[c];
    const e = env.offsets[c + 1];
    const w = env.weights[c];
    for (let a = s; a < e; a++) r[a] = env.refLogprobs[a] + r[a] / eta;
    const z = logSumExp(r, s, e - s);
    value += w * eta * z;
    if (w === 0) continue;
    mc.fill(0);
    for (let a = s; a < e; a++) {
      const p = Math.exp(r[a] - z);
      if (p === 0) continue;
      const o = a * d;
      for (let j = 0; j < d; j++) mc[j] += p * F[o + j];
      if (hess)
        for (let i = 0; i < d; i++) {
          const pi = (p * F[o + i] * w) / eta;
          for (let j = 0; j < d; j++) hess[i * d + j] += pi * F[o + j];
        }
    }
    for (let j = 0; j < d; j++) grad[j] += w * mc[j];
    if (hess)
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) hess[i * d + j] -= (w * mc[i] * mc[j]) / eta;
  }
  return { value, grad, hess };
}

export { symmetricEigen };

/**
 * argmin_{‖y‖≤1} ⟨b,y⟩ + ½yᵀHy for symmetric PSD H: the unconstrained (minimum-norm) minimiser if
 * it lies in the ball, else y(μ) = −(H + μI)⁻¹b with ‖y(μ)‖ = 1, μ > 0 found by bisection
 * (‖y(μ)‖ is decreasing in μ and ≤ 1 at μ = ‖b‖).
 */
export function minimizeQuadraticOnBall(b: ArrayLike<number>, H: ArrayLike<number>, d: number): Float64Array {
  // Eigenvectors are the rows of V: V[i·d + k] is component k of eigenvector i.
  const { values, vectors: V } = symmetricEigen(H, d);
  let lmax = 0;
  for (let i = 0; i < d; i++) lmax = Math.max(lmax, values[i]);
  const tol = 1e-13 * Math.max(lmax, 1e-300);
  const c = new Float64Array(d);
  let bnorm2 = 0;
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += V[i * d + k] * b[k];
    c[i] = s;
    bnorm2 += s * s;
  }
  const lam = new Float64Array(d);
  for (let i = 0; i < d; i++) lam[i] = Math.max(values[i], 0);
  const coef = new Float64Array(d);
  // Interior candidate (μ = 0), valid only if b has no component along H's null space.
  let interior = true;
  let n0 = 0;
  for (let i = 0; i < d; i++) {
    if (lam[i] > tol) {
      coef[i] = -c[i] / lam[i];
      n0 += coef[i] * coef[i];
    } else if (Math.abs(c[i]) > 1e-14 * Math.sqrt(bnorm2)) interior = false;
    else coef[i] = 0;
  }
  if (!(interior && n0 <= 1)) {
    const normAt = (mu: number): number => {
      let s = 0;
      for (let i = 0; i < d; i++) s += (c[i] / (lam[i] + mu)) ** 2;
      return s;
    };
    let lo = 0;
    let hi = Math.sqrt(bnorm2);
    if (hi === 0) {
      coef.fill(0);
    } else {
      for (let k = 0; k < 200 && hi - lo > 1e-16 * hi; k++) {
        const mid = 0.5 * (lo + hi);
        if (normAt(mid) > 1) lo = mid;
        else hi = mid;
      }
      // hi is on the feasible side (‖y‖ ≤ 1); rescale away the last rounding excess.
      let s = 0;
      for (let i = 0; i < d; i++) {
        coef[i] = -c[i] / (lam[i] + hi);
        s += coef[i] * coef[i];
      }
      if (s > 1) for (let i = 0; i < d; i++) coef[i] /= Math.sqrt(s);
    }
  }
  const y = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += V[i * d + k] * coef[i];
    y[k] = s;
  }
  return y;
}

export interface ExpectedPessimismSolution {
  /** θ̂ − β·u*: the policy is Gibbs of this parameter. */
  thetaPessimistic: Float64Array;
  /** u* (‖u*‖_Σ ≤ 1). */
  u: Float64Array;
  /** Dual value F(u*). */
  dual: number;
  /** Primal value P(π̂) = Ĵ_MLE(π̂) − β·Γ^e(π̂, ν). */
  primal: number;
  /** Certified gap F(u*) − P(π̂) ≥ 0 (bounds the suboptimality of both sides). */
  gap: number;
  /** ‖u*‖_Σ (1 when the pessimism constraint is active). */
  uNormSigma: number;
  iterations: number;
}

/**
 * Solve Option I exactly (see the file comment). `sigma` is Σ (d×d), nuBar = E_x ν(x).
 * Stops when the certified duality gap ≤ tol·max(1, |F|) or after maxIter proximal-Newton steps.
 */
export function solveExpectedPessimism(
  env: BanditEnv,
  thetaMle: ArrayLike<number>,
  sigma: Float64Array,
  nuBar: ArrayLike<number>,
  beta: number,
  opts: { tol?: number; maxIter?: number } = {},
): ExpectedPessimismSolution {
  const d = env.d;
  const eta = env.eta;
  const tol = opts.tol ?? 1e-12;
  const maxIter = opts.maxIter ?? 200;
  const L = cholesky(sigma, d);
  const z = new Float64Array(d);
  const u = new Float64Array(d);
  const th = new Float64Array(d);
  // u = L⁻ᵀz; θ(z) = θ̂ − βu.
  const setTheta = (zz: Float64Array): void => {
    backSolveT(L, d, zz, u);
    for (let j = 0; j < d; j++) th[j] = thetaMle[j] - beta * u[j];
  };
  const Fval = (sv: SoftValue): number => {
    let s = sv.value;
    for (let j = 0; j < d; j++) s += beta * u[j] * nuBar[j];
    return s;
  };
  setTheta(z);
  let sv = softValue(env, th, eta, beta > 0);
  let F = Fval(sv);
  const gu = new Float64Array(d);
  const gz = new Float64Array(d);
  let gap = Infinity;
  let iterations = 0;
  const trialZ = new Float64Array(d);
  for (;;) {
    // ∇_u F = −β(m̄ − ν̄); ∇_z = L⁻¹∇_u.
    for (let j = 0; j < d; j++) gu[j] = -beta * (sv.grad[j] - nuBar[j]);
    forwardSolve(L, d, gu, gz);
    let gnorm = 0;
    let zg = 0;
    for (let j = 0; j < d; j++) {
      gnorm += gz[j] * gz[j];
      zg += z[j] * gz[j];
    }
    gap = Math.max(0, Math.sqrt(gnorm) + zg);
    if (beta === 0 || gap <= tol * Math.max(1, Math.abs(F)) || iterations >= maxIter) break;
    // H_z = L⁻¹ H_u L⁻ᵀ with H_u = β²·∇²V.
    const Hu = sv.hess as Float64Array;
    const A = new Float64Array(d * d); // A = L⁻¹H_u (column by column)
    const col = new Float64Array(d);
    const tmp = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      for (let i = 0; i < d; i++) col[i] = beta * beta * Hu[i * d + k];
      forwardSolve(L, d, col, tmp);
      for (let i = 0; i < d; i++) A[i * d + k] = tmp[i];
    }
    const Hz = new Float64Array(d * d); // Hz = L⁻¹Aᵀ; rows of A are columns of Aᵀ
    for (let k = 0; k < d; k++) {
      for (let i = 0; i < d; i++) col[i] = A[k * d + i];
      forwardSolve(L, d, col, tmp);
      for (let i = 0; i < d; i++) Hz[i * d + k] = tmp[i];
    }
    for (let i = 0; i < d; i++)
      for (let j = i + 1; j < d; j++) {
        const m = 0.5 * (Hz[i * d + j] + Hz[j * d + i]);
        Hz[i * d + j] = m;
        Hz[j * d + i] = m;
      }
    // Model in y = z + s: ⟨g − Hz, y⟩ + ½yᵀHy over ‖y‖ ≤ 1.
    const b = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = gz[i];
      for (let k = 0; k < d; k++) s -= Hz[i * d + k] * z[k];
      b[i] = s;
    }
    const y = minimizeQuadraticOnBall(b, Hz, d);
    const step = new Float64Array(d);
    let slope = 0;
    for (let j = 0; j < d; j++) {
      step[j] = y[j] - z[j];
      slope += gz[j] * step[j];
    }
    iterations++;
    if (!(slope < 0)) break; // no descent direction left: optimal to rounding
    let t = 1;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      for (let j = 0; j < d; j++) trialZ[j] = z[j] + t * step[j];
      setTheta(trialZ);
      const svT = softValue(env, th, eta, true);
      const FT = Fval(svT);
      if (FT <= F + 1e-4 * t * slope) {
        z.set(trialZ);
        sv = svT;
        F = FT;
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) {
      setTheta(z);
      break;
    }
  }
  setTheta(z);
  let zn = 0;
  for (let j = 0; j < d; j++) zn += z[j] * z[j];
  return {
    thetaPessimistic: Float64Array.from(th),
    u: Float64Array.from(u),
    dual: F,
    primal: F - gap,
    gap,
    uNormSigma: Math.sqrt(zn),
    iterations,
  };
}

export const gshfOfflineOption1: BanditAlgorithm<Partial<Option1Options>> & {
  readonly defaults: Option1Options;
} = {
  name: 'gshf-offline-option1',
  setting: 'offline',
  description:
    'Offline GSHF, Option I (expected pessimism): argmax_π Ĵ_MLE(π) − β·‖E_x[φ(x,π) − ν(x)]‖_{Σ⁻¹}, solved exactly through its convex dual (the solution is Gibbs(θ̂ − β·u*)).',
  defaults: defaultOption1Options,
  checkOptions(options: Partial<Option1Options>, d: number) {
    resolvePessimism(this.name, options, d);
  },
  run(ctx: AlgorithmContext, options: Partial<Option1Options>): AlgorithmResult {
    const { env, offline } = ctx;
    const o = resolvePessimism(this.name, options, env.d);
    const theta = fitThetaMle(env, offline, o.lambda, o.normBound);
    const sigma = pairCovariance(env, offline, o.lambda);
    const nuBar = meanReference(env, referenceFeatures(env, offline, o.nu));
    if (o.beta === 0) {
      const policy = gibbsOfTheta(env, theta);
      return {
        policy,
        labelsUsed: nPairs(offline),
        thetaHat: theta,
        diagnostics: {
          beta: 0,
          lambda: o.lambda,
          dualityGap: 0,
          uNormSigma: 0,
          iterations: 0,
          klToRef: klToRef(env, policy),
        },
      };
    }
    const sol = solveExpectedPessimism(env, theta, sigma, nuBar, o.beta);
    const policy = gibbsOfTheta(env, sol.thetaPessimistic);
    return {
      policy,
      labelsUsed: nPairs(offline),
      thetaHat: sol.thetaPessimistic,
      diagnostics: {
        beta: o.beta,
        lambda: o.lambda,
        dualityGap: sol.gap,
        primal: sol.primal,
        dual: sol.dual,
        uNormSigma: sol.uNormSigma,
        iterations: sol.iterations,
        klToRef: klToRef(env, policy),
      },
    };
  },
};
