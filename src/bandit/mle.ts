/**
 * Ridge Bradley–Terry maximum likelihood (paper §1.3):
 *   L(θ) = −Σ_i log σ(⟨θ, Δφ_i⟩) + (λ/2)‖θ‖²,   Δφ_i = φ(x_i, chosen_i) − φ(x_i, rejected_i).
 * Solved by Newton's method with Armijo backtracking. L is strictly convex for λ > 0, so Newton
 * converges globally with the line search, including on perfectly separable data (where the
 * unpenalised MLE does not exist and ‖θ‖ would diverge).
 *
 * Norm bound ‖θ‖ ≤ B (optional): the constrained minimiser is the minimiser of L(θ) + (μ/2)‖θ‖²
 * for the KKT multiplier μ ≥ 0; μ = 0 if the unconstrained solution is inside the ball, otherwise
 * μ > 0 is the unique value with ‖θ(μ)‖ = B (‖θ(μ)‖ is strictly decreasing in μ). We find it by
 * safeguarded Newton on f(μ) = 1/‖θ(μ)‖ − 1/B (nearly linear in μ, as in trust-region solvers),
 * warm-starting the inner Newton solve from the previous θ at each μ. Typically 3–5 values of μ.
 *
 * Cost per Newton iteration: O(n·d) for margins/gradient, O(n·d²) for the Hessian (native dsyrk when
 * built), O(d³) for the Cholesky; each line-search trial is O(n) (margins are updated along Δφ·step).
 * No allocation inside the iterations: all buffers live in one Workspace per fit.
 */
import { sigmoid, softplus } from '../math/special.js';
import { addOuterProducts, cholesky, choleskySolve } from '../math/linalg.js';
import type { BanditEnv, PairData } from './env.js';
import { featureDiffs } from './env.js';

/** Precomputed feature differences: n×d row-major. */
export interface DiffData {
  dphi: Float64Array;
  n: number;
  d: number;
}

export interface MLEOptions {
  /** Ridge λ ≥ 0 (λ = 0 only if the data determine θ; separable data then diverge). */
  lambda: number;
  /** Optional ‖θ‖ ≤ B constraint. */
  normBound?: number;
  /** Newton iterations per solve (default 100). */
  maxIter?: number;
  /** Stop when ‖∇‖₂ ≤ tol·max(1, n) (default 1e-10): the gradient is a sum of n terms each ≤ ‖Δφ‖. */
  tol?: number;
  /** Warm start (default 0). */
  init?: Float64Array;
}

export interface MLEResult {
  theta: Float64Array;
  /** L(θ) including the λ ridge term (not the μ multiplier term). */
  negLogLik: number;
  /** ‖∇L(θ) + μθ‖₂, the KKT residual (= ‖∇L(θ)‖ when unconstrained). */
  gradNorm: number;
  /** Total Newton iterations (over all μ in the constrained case). */
  iterations: number;
  converged: boolean;
  /** KKT multiplier of the norm bound (0 when inactive or absent). */
  mu: number;
}

/** L(θ) = Σ softplus(−⟨θ,Δφ_i⟩) + (λ/2)‖θ‖². */
export function btNegLogLik(
  dphi: Float64Array,
  n: number,
  d: number,
  theta: ArrayLike<number>,
  lambda: number,
): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    let z = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) z += dphi[o + j] * theta[j];
    s += softplus(-z);
  }
  let t2 = 0;
  for (let j = 0; j < d; j++) t2 += theta[j] * theta[j];
  return s + 0.5 * lambda * t2;
}

/** ∇L(θ) = −Σ σ(−z_i) Δφ_i + λθ. */
export function btGradient(
  dphi: Float64Array,
  n: number,
  d: number,
  theta: ArrayLike<number>,
  lambda: number,
  out: Float64Array = new Float64Array(d),
): Float64Array {
  for (let j = 0; j < d; j++) out[j] = lambda * theta[j];
  for (let i = 0; i < n; i++) {
    let z = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) z += dphi[o + j] * theta[j];
    const c = -sigmoid(-z);
    for (let j = 0; j < d; j++) out[j] += c * dphi[o + j];
  }
  return out;
}

/** ∇²L(θ) = Σ σ(z_i)σ(−z_i) Δφ_i Δφ_iᵀ + λI (d×d, both triangles). */
export function btHessian(
  dphi: Float64Array,
  n: number,
  d: number,
  theta: ArrayLike<number>,
  lambda: number,
  out: Float64Array = new Float64Array(d * d),
): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) z += dphi[o + j] * theta[j];
    const s = sigmoid(z);
    w[i] = s * (1 - s);
  }
  out.fill(0);
  for (let j = 0; j < d; j++) out[j * d + j] = lambda;
  return addOuterProducts(n, d, dphi, w, out);
}

/** Buffers reused across Newton iterations and μ values (no per-iteration allocation). */
class Workspace {
  /** Margins z = Δφ·θ at the current θ and at the trial point (swapped on acceptance). */
  z: Float64Array;
  zt: Float64Array;
  /** Δφ·step, so a line-search trial costs O(n) instead of O(n·d). */
  readonly dz: Float64Array;
  /** Hessian weights σ(z)σ(−z), and σ(−z) (= minus the gradient coefficients). */
  readonly w: Float64Array;
  readonly c: Float64Array;
  readonly grad: Float64Array;
  readonly H: Float64Array;
  readonly L: Float64Array;
  readonly step: Float64Array;
  readonly q: Float64Array;
  /** True once L holds a factor of some Hessian (used for the μ derivative in the norm-bound solve). */
  haveFactor = false;
  constructor(n: number, d: number) {
    this.z = new Float64Array(n);
    this.zt = new Float64Array(n);
    this.dz = new Float64Array(n);
    this.w = new Float64Array(n);
    this.c = new Float64Array(n);
    this.grad = new Float64Array(d);
    this.H = new Float64Array(d * d);
    this.L = new Float64Array(d * d);
    this.step = new Float64Array(d);
    this.q = new Float64Array(d);
  }
}

/**
 * z = Δφ·θ. A plain loop: for a single right-hand side (a matrix-vector product) V8's JIT matches
 * or beats OpenBLAS dgemm with N = 1, which has per-call threading overhead.
 */
function computeMargins(data: DiffData, theta: Float64Array, z: Float64Array): void {
  const { dphi, n, d } = data;
  for (let i = 0; i < n; i++) {
    let t = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) t += dphi[o + j] * theta[j];
    z[i] = t;
  }
}

/** z = Δφ·θ; returns Σ softplus(−z_i) (the data term of L). */
function margins(data: DiffData, theta: Float64Array, z: Float64Array): number {
  computeMargins(data, theta, z);
  let s = 0;
  for (let i = 0; i < data.n; i++) s += softplus(-z[i]);
  return s;
}

/**
 * Σ_i softplus(−z_i − t·dz_i) − softplus(−z_i), writing the trial margins into zt. For small steps
 * each term is computed as log1p(σ(−z)·expm1(−t·dz)), which has no cancellation: near the optimum
 * the true decrease is far below the rounding error of L itself, and a line search comparing two
 * sums of n terms would reject good Newton steps.
 */
function lossDelta(
  n: number,
  z: Float64Array,
  dz: Float64Array,
  sigNeg: Float64Array,
  t: number,
  zt: Float64Array,
): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const delta = t * dz[i];
    const zi = z[i];
    zt[i] = zi + delta;
    s +=
      Math.abs(delta) < 0.5
        ? Math.log1p(sigNeg[i] * Math.expm1(-delta))
        : softplus(-zi - delta) - softplus(-zi);
  }
  return s;
}

function sqNorm(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return s;
}

interface SolveResult {
  /** Penalised objective with ridge `ridge` at the returned θ. */
  value: number;
  gradNorm: number;
  iterations: number;
  converged: boolean;
}

/**
 * Newton with Armijo backtracking on L_ridge(θ) = Σ softplus(−z) + (ridge/2)‖θ‖², in place on θ.
 * Converged when ‖∇‖ ≤ gtol; stops early (converged if ‖∇‖ ≤ 1000·gtol) when the Newton step is
 * lost in rounding.
 */
function newton(
  data: DiffData,
  ridge: number,
  theta: Float64Array,
  ws: Workspace,
  maxIter: number,
  gtol: number,
): SolveResult {
  const { dphi, n, d } = data;
  const { w, c, grad, H, L, step } = ws;
  let value = margins(data, theta, ws.z) + 0.5 * ridge * sqNorm(theta);
  let iterations = 0;
  let gradNorm = Infinity;
  for (;;) {
    const z = ws.z;
    // ∇ = λθ − Δφᵀσ(−z); Hessian weights w_i = σ(z_i)σ(−z_i).
    for (let i = 0; i < n; i++) {
      const sm = sigmoid(-z[i]);
      c[i] = sm;
      w[i] = sm * (1 - sm);
    }
    for (let j = 0; j < d; j++) grad[j] = ridge * theta[j];
    for (let i = 0; i < n; i++) {
      const ci = c[i];
      if (ci === 0) continue;
      const o = i * d;
      for (let j = 0; j < d; j++) grad[j] -= ci * dphi[o + j];
    }
    gradNorm = Math.sqrt(sqNorm(grad));
    if (gradNorm <= gtol) return { value, gradNorm, iterations, converged: true };
    if (iterations >= maxIter) return { value, gradNorm, iterations, converged: false };
    H.fill(0);
    for (let j = 0; j < d; j++) H[j * d + j] = ridge;
    addOuterProducts(n, d, dphi, w, H);
    factorWithJitter(H, d, L);
    ws.haveFactor = true;
    for (let j = 0; j < d; j++) step[j] = -grad[j];
    choleskySolve(L, d, step, step);
    let slope = 0;
    for (let j = 0; j < d; j++) slope += grad[j] * step[j];
    // −slope is the squared Newton decrement; 0 means the step is lost in rounding.
    if (!(-slope > 0)) return { value, gradNorm, iterations, converged: gradNorm <= gtol * 1e3 };
    computeMargins(data, step, ws.dz);
    // Ridge change ‖θ+ts‖² − ‖θ‖² = 2t⟨θ,s⟩ + t²‖s‖², written without cancellation.
    let ts = 0;
    for (let j = 0; j < d; j++) ts += theta[j] * step[j];
    const ss = sqNorm(step);
    let t = 1;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      const delta = lossDelta(n, z, ws.dz, c, t, ws.zt) + 0.5 * ridge * (2 * t * ts + t * t * ss);
      if (delta <= 1e-4 * t * slope) {
        for (let j = 0; j < d; j++) theta[j] += t * step[j];
        value += delta;
        // The trial margins become current; the old buffer is reused for the next trial.
        [ws.z, ws.zt] = [ws.zt, ws.z];
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    iterations++;
    if (!accepted) return { value, gradNorm, iterations, converged: gradNorm <= gtol * 1e3 };
  }
}

/** Cholesky of H into L, adding a growing diagonal jitter if H is singular (λ = 0 with rank-deficient data). */
function factorWithJitter(H: Float64Array, d: number, L: Float64Array): void {
  try {
    cholesky(H, d, L);
    return;
  } catch {
    let tr = 0;
    for (let j = 0; j < d; j++) tr += H[j * d + j];
    let jitter = Math.max(1e-12, (1e-12 * tr) / d);
    for (let k = 0; k < 40; k++, jitter *= 10) {
      for (let j = 0; j < d; j++) H[j * d + j] += jitter;
      try {
        cholesky(H, d, L);
        return;
      } catch {
        for (let j = 0; j < d; j++) H[j * d + j] -= jitter;
      }
    }
    throw new Error('fitMLE: Hessian is not positive definite even with jitter (NaN features?)');
  }
}

function isDiffData(x: BanditEnv | DiffData): x is DiffData {
  return (x as DiffData).dphi !== undefined;
}

/**
 * Fit the ridge BT-MLE, optionally under ‖θ‖ ≤ normBound. Accepts an environment + pairs (Δφ is
 * built once), or precomputed {dphi, n, d} (pairs ignored). `fitMLE(diffData, opts)` also works.
 */
export function fitMLE(
  source: BanditEnv | DiffData,
  pairs: PairData | null | undefined,
  opts: MLEOptions,
): MLEResult;
export function fitMLE(source: DiffData, opts: MLEOptions): MLEResult;
export function fitMLE(
  source: BanditEnv | DiffData,
  pairsOrOpts: PairData | MLEOptions | null | undefined,
  maybeOpts?: MLEOptions,
): MLEResult {
  let data: DiffData;
  let opts: MLEOptions;
  if (maybeOpts === undefined && pairsOrOpts && 'lambda' in pairsOrOpts) {
    opts = pairsOrOpts;
    if (!isDiffData(source)) throw new Error('fitMLE(env, opts): pairs are required with an environment');
    data = source;
  } else {
    if (!maybeOpts) throw new Error('fitMLE: options {lambda} are required');
    opts = maybeOpts;
    if (isDiffData(source)) data = source;
    else {
      const pairs = pairsOrOpts as PairData | null | undefined;
      if (!pairs) throw new Error('fitMLE: pairs are required when fitting from an environment');
      data = { dphi: featureDiffs(source, pairs), n: pairs.context.length, d: source.d };
    }
  }
  const { n, d } = data;
  if (data.dphi.length < n * d)
    throw new RangeError(`fitMLE: dphi has ${data.dphi.length} entries, need n·d = ${n * d}`);
  const lambda = opts.lambda;
  if (!(lambda >= 0)) throw new RangeError(`fitMLE: lambda must be ≥ 0, got ${lambda}`);
  const maxIter = opts.maxIter ?? 100;
  const gtol = (opts.tol ?? 1e-10) * Math.max(1, n);
  const theta = new Float64Array(d);
  if (opts.init) {
    if (opts.init.length !== d)
      throw new RangeError(`fitMLE: init has length ${opts.init.length}, expected ${d}`);
    theta.set(opts.init);
  }
  const ws = new Workspace(n, d);
  const B = opts.normBound;
  if (B !== undefined && !(B > 0)) throw new RangeError(`fitMLE: normBound must be > 0, got ${B}`);
  // A warm start outside the ball is fine: the unconstrained solve below does not care.
  const r0 = newton(data, lambda, theta, ws, maxIter, gtol);
  let iterations = r0.iterations;
  const norm0 = Math.sqrt(sqNorm(theta));
  if (B === undefined || norm0 <= B) {
    return { theta, negLogLik: r0.value, gradNorm: r0.gradNorm, iterations, converged: r0.converged, mu: 0 };
  }
  // Active constraint: find μ > 0 with ‖θ(μ)‖ = B. f(μ) = 1/‖θ(μ)‖ − 1/B is increasing and nearly
  // linear in μ (exactly so for an isotropic quadratic), so Newton on f converges in a few steps:
  // dθ/dμ = −H_μ⁻¹θ gives f'(μ) = θᵀH_μ⁻¹θ / ‖θ‖³, with H_μ's Cholesky factor left by the inner solve.
  // Safeguard: keep a bracket [lo, hi] and bisect whenever the Newton candidate leaves it.
  // Inner solves are tightened (Newton is quadratic, so this costs ~1 step) so that ‖θ(μ)‖ is
  // accurate well below the 1e-10 relative tolerance of the root.
  const gtolMu = gtol * 1e-4;
  const f = (norm: number): number => 1 / Math.max(norm, 1e-300) - 1 / B;
  let lo = 0;
  let hi = Infinity;
  // First guess from an isotropic quadratic model: ‖θ(μ)‖ ≈ ‖θ(0)‖·h/(h+μ), h = tr(H)/d.
  let tr = 0;
  for (let j = 0; j < d; j++) tr += ws.H[j * d + j];
  let mu = Math.max(1e-12, (tr / d) * (norm0 / B - 1));
  let converged = false;
  for (let k = 0; k < 100; k++) {
    // Warm start from the previous solution (the nearest μ tried so far).
    const r = newton(data, lambda + mu, theta, ws, maxIter, gtolMu);
    iterations += r.iterations;
    converged = r.converged;
    const nrm = Math.sqrt(sqNorm(theta));
    const fm = f(nrm);
    if (Math.abs(nrm - B) <= 1e-10 * B) break;
    if (fm < 0) lo = mu;
    else hi = mu;
    let next = NaN;
    if (ws.haveFactor) {
      choleskySolve(ws.L, d, theta, ws.q);
      let tq = 0;
      for (let j = 0; j < d; j++) tq += theta[j] * ws.q[j];
      if (tq > 0) next = mu - fm / (tq / (nrm * nrm * nrm));
    }
    if (!(next > lo && next < hi)) next = hi === Infinity ? Math.max(4 * mu, 1e-12) : 0.5 * (lo + hi);
    if (hi < Infinity && hi - lo <= 1e-15 * hi) break;
    mu = next;
  }
  const nrm = Math.sqrt(sqNorm(theta));
  const onBoundary = Math.abs(nrm - B) <= 1e-8 * B;
  const negLogLik = btNegLogLik(data.dphi, n, d, theta, lambda);
  // KKT residual ∇L(θ) + μθ.
  const g = btGradient(data.dphi, n, d, theta, lambda + mu, ws.grad);
  return {
    theta,
    negLogLik,
    gradNorm: Math.sqrt(sqNorm(g)),
    iterations,
    converged: converged && onBoundary,
    mu,
  };
}
