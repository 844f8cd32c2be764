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
import { fastExp, sigmoid, softplus } from '../math/special.js';
import { addOuterProducts, cholesky, choleskySolve } from '../math/linalg.js';
import { nativeOp } from '../native/index.js';
import type { BanditEnv, PairData } from './env.js';
import { featureDiffs } from './env.js';
import { GshfInputError } from '../math/errors.js';

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
  /**
   * λ = 0 without a binding norm bound, and θ orders every pair correctly (all margins ≥ 0, one
   * > 0): the likelihood keeps improving as θ grows, so no finite MLE exists; `theta` is just
   * where Newton stopped and `converged` is false.
   */
  diverged: boolean;
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

/**
 * Internal weighted form of the data: row i stands for cnt_i pairs with the same Δφ_i up to sign,
 * neg_i of which have the opposite orientation (chosen/rejected swapped). Its loss is
 * cnt_i·softplus(−z_i) + neg_i·z_i, which equals the sum over the pairs it stands for, since
 * softplus(z) = z + softplus(−z). cnt = null means one pair per row (neg = 0).
 */
class RowData implements DiffData {
  // A class (one hidden class for every instance) rather than object spreads/literals: spread
  // copies got a different map on some calls, which deoptimised the hot loops for good.
  constructor(
    readonly dphi: Float64Array,
    readonly n: number,
    readonly d: number,
    readonly cnt: Float64Array | null,
    readonly neg: Float64Array | null,
  ) {}
}

/** Buffers reused across Newton iterations and μ values (no per-iteration allocation). */
class Workspace {
  /** Margins z = Δφ·θ at the current θ and at the trial point (swapped on acceptance). */
  z: Float64Array;
  zt: Float64Array;
  /** Δφ·step, so a line-search trial costs O(n) instead of O(n·d). */
  readonly dz: Float64Array;
  /** σ(z) and σ(−z) at the current θ, both kept so that neither is formed as 1 − the other. */
  readonly sp: Float64Array;
  readonly sn: Float64Array;
  /** exp(−t·dz_i) of the last line-search trial (NaN where it was not formed). */
  readonly ed: Float64Array;
  /** Hessian weights (TS/native Gram path for larger d). */
  readonly w: Float64Array;
  readonly grad: Float64Array;
  readonly H: Float64Array;
  readonly L: Float64Array;
  readonly step: Float64Array;
  readonly q: Float64Array;
  /** Gradient + upper-triangle Hessian sums of the unrolled d = 4, 8 kernels. */
  readonly acc: Float64Array;
  /** True once L holds a factor of some Hessian (used for the μ derivative in the norm-bound solve). */
  haveFactor = false;
  constructor(n: number, d: number) {
    this.z = new Float64Array(n);
    this.zt = new Float64Array(n);
    this.dz = new Float64Array(n);
    this.sp = new Float64Array(n);
    this.sn = new Float64Array(n);
    this.ed = new Float64Array(n);
    this.w = new Float64Array(d <= FUSED_MAX_D || d === 4 || d === 8 ? 0 : n);
    this.grad = new Float64Array(d);
    this.H = new Float64Array(d * d);
    this.L = new Float64Array(d * d);
    this.step = new Float64Array(d);
    this.q = new Float64Array(d);
    this.acc = new Float64Array(d + (d * (d + 1)) / 2);
  }
}

/**
 * One Workspace kept between fits (grow-only, reset per fit): allocating ~7 zeroed n-length arrays
 * per call showed up as GC time for small fits repeated many times. fitMLE is synchronous and does
 * not re-enter, and it returns a fresh θ, so sharing is safe.
 */
const WS_CACHE_MAX_N = 1 << 16;
let cachedWs: Workspace | null = null;
let cachedN = -1;
let cachedD = -1;
function workspaceFor(n: number, d: number): Workspace {
  // Large fits allocate afresh: their arrays are cheap relative to the fit and not worth retaining.
  if (n > WS_CACHE_MAX_N) return new Workspace(n, d);
  if (cachedWs === null || cachedN !== n || cachedD !== d) {
    // Exact sizes: loops take n from the data, but subarray views would cost more than they save.
    cachedWs = new Workspace(n, d);
    cachedN = n;
    cachedD = d;
  }
  cachedWs.haveFactor = false;
  return cachedWs;
}

/**
 * Up to this d (and for d = 4, 8, which have unrolled kernels), the gradient and the Hessian are
 * accumulated in one TS pass over Δφ: a dsyrk call has too little work per row there, and reading Δφ
 * once instead of twice matters more. Otherwise the Hessian goes to addOuterProducts (native dsyrk
 * when n·d² is large); a generic fused loop with H in memory measured slower than that at d = 8.
 */
const FUSED_MAX_D = 3;

/**
 * z = Δφ·θ. A plain loop: for a single right-hand side (a matrix-vector product) V8's JIT matches
 * or beats OpenBLAS dgemm with N = 1, which has per-call threading overhead.
 */
function computeMargins(data: DiffData, theta: Float64Array, z: Float64Array): void {
  const { dphi, n, d } = data;
  if (d === 4) {
    const t0 = theta[0];
    const t1 = theta[1];
    const t2 = theta[2];
    const t3 = theta[3];
    for (let i = 0, o = 0; i < n; i++, o += 4)
      z[i] = dphi[o] * t0 + dphi[o + 1] * t1 + (dphi[o + 2] * t2 + dphi[o + 3] * t3);
    return;
  }
  for (let i = 0; i < n; i++) {
    let t0 = 0;
    let t1 = 0;
    const o = i * d;
    let j = 0;
    for (; j + 1 < d; j += 2) {
      t0 += dphi[o + j] * theta[j];
      t1 += dphi[o + j + 1] * theta[j + 1];
    }
    if (j < d) t0 += dphi[o + j] * theta[j];
    z[i] = t0 + t1;
  }
}

/** z = Δφ·θ, σ(±z); returns the data term of L (Σ cnt·softplus(−z) + neg·z). */
function margins(data: RowData, theta: Float64Array, ws: Workspace): number {
  const { n, cnt, neg } = data;
  const { z, sp, sn } = ws;
  let zero = true;
  for (let j = 0; j < theta.length; j++) if (theta[j] !== 0) zero = false;
  if (zero) {
    // The usual start θ = 0: z = 0, σ = ½, softplus(0) = log 2 exactly, no transcendentals per pair.
    z.fill(0);
    sp.fill(0.5);
    sn.fill(0.5);
    if (cnt === null) return n * Math.LN2;
    let c = 0;
    for (let i = 0; i < n; i++) c += cnt[i];
    return c * Math.LN2;
  }
  computeMargins(data, theta, z);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i];
    // One exp and one log1p give σ(z), σ(−z) and softplus(−z) (e = e^{−|z|} ≤ 1, no overflow).
    const e = Math.exp(-Math.abs(zi));
    const inv = 1 / (1 + e);
    const lp = Math.log1p(e);
    let l: number;
    if (zi >= 0) {
      sp[i] = inv;
      sn[i] = e * inv;
      l = lp;
    } else {
      sp[i] = e * inv;
      sn[i] = inv;
      l = lp - zi;
    }
    s += cnt === null ? l : cnt[i] * l + (neg as Float64Array)[i] * zi;
  }
  return s;
}

/**
 * Σ_i cnt_i·[softplus(−z_i − δ_i) − softplus(−z_i)] + neg_i·δ_i with δ_i = t·dz_i, writing the trial
 * margins into zt and e^{−δ_i} into ed. Each bracket is log(σ(z) + σ(−z)·e^{−δ}) (one exp and one log
 * per pair, and the exp is reused by updateSigmoids). For small steps it is log1p(σ(−z)·expm1(−δ)), which
 * has no cancellation: near the optimum the true decrease is far below the rounding error of L
 * itself, and a line search comparing two sums of n terms would reject good Newton steps.
 */
function lossDelta(data: RowData, ws: Workspace, t: number): number {
  const { n, cnt, neg } = data;
  const { z, dz, sp, sn, zt, ed } = ws;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const delta = t * dz[i];
    const zi = z[i];
    zt[i] = zi + delta;
    let l: number;
    if (Math.abs(delta) < 0.5) {
      const em = Math.expm1(-delta);
      ed[i] = 1 + em;
      l = Math.log1p(sn[i] * em);
    } else if (delta > -700) {
      // log(σ(z) + σ(−z)·e^{−δ}): a sum of positives, no cancellation to protect against here.
      const e = fastExp(-delta);
      ed[i] = e;
      l = Math.log(sp[i] + sn[i] * e);
    } else {
      ed[i] = NaN;
      l = softplus(-zi - delta) - softplus(-zi);
    }
    s += cnt === null ? l : cnt[i] * l + (neg as Float64Array)[i] * delta;
  }
  return s;
}

/**
 * After accepting a trial: σ(z+δ) = σ(z)/D and σ(−z−δ) = σ(−z)·e^{−δ}/D with D = σ(z) + σ(−z)·e^{−δ}
 * (a sum of positives), reusing the line search's exp instead of two fresh sigmoids per pair.
 */
function updateSigmoids(n: number, ws: Workspace): void {
  const { sp, sn, ed, z } = ws;
  for (let i = 0; i < n; i++) {
    const e = ed[i];
    if (e === e) {
      const a = sp[i];
      const b = sn[i] * e;
      const inv = 1 / (a + b);
      sp[i] = a * inv;
      sn[i] = b * inv;
    } else {
      sp[i] = sigmoid(z[i]);
      sn[i] = sigmoid(-z[i]);
    }
  }
}

/**
 * Unrolled gradient + Hessian for d = 4 or 8, in blocks of rows. Blocks (rather than one loop over
 * all n) matter for V8: a single long loop gets on-stack-replaced before the code after it has run,
 * and that OSR code then deoptimised on every call ("insufficient type feedback"): d = 4, n = 10⁴
 * ran ~3× slower than n = 10³ per row.
 */
function gradHessUnrolled(data: RowData, ridge: number, theta: Float64Array, ws: Workspace): void {
  const { n, d } = data;
  const { sp, sn, grad, H } = ws;
  const acc = ws.acc;
  acc.fill(0);
  for (let start = 0; start < n; start += UNROLL_BLOCK) {
    const end = Math.min(n, start + UNROLL_BLOCK);
    if (d === 4) gradHessBlock4(data, sp, sn, acc, start, end);
    else gradHessBlock8(data, sp, sn, acc, start, end);
  }
  let k = 0;
  for (let a = 0; a < d; a++) grad[a] = ridge * theta[a] - acc[k++];
  for (let a = 0; a < d; a++) {
    H[a * d + a] = acc[k++] + ridge;
    for (let b = a + 1; b < d; b++) H[a * d + b] = H[b * d + a] = acc[k++];
  }
}

// gradHessBlock4 and gradHessBlock8 below are generated by scripts/gen-unrolled-mle.mjs (a test checks
// that they equal its output): edit the generator, not the functions.
const UNROLL_BLOCK = 1024;

/**
 * Rows [start, end) for d = 4: the 4 gradient and 10 Hessian sums live in locals (generated,
 * unrolled), loaded from and stored back to acc (g then the upper triangle row by row).
 */
function gradHessBlock4(
  data: RowData,
  sp: Float64Array,
  sn: Float64Array,
  acc: Float64Array,
  start: number,
  end: number,
): void {
  const { dphi, cnt, neg } = data;
  let g0 = acc[0];
  let g1 = acc[1];
  let g2 = acc[2];
  let g3 = acc[3];
  let h00 = acc[4];
  let h01 = acc[5];
  let h02 = acc[6];
  let h03 = acc[7];
  let h11 = acc[8];
  let h12 = acc[9];
  let h13 = acc[10];
  let h22 = acc[11];
  let h23 = acc[12];
  let h33 = acc[13];
  for (let i = start, o = start * 4; i < end; i++, o += 4) {
    const c = cnt === null ? 1 : cnt[i];
    const q = sn[i];
    const g = cnt === null ? q : c * q - (neg as Float64Array)[i];
    const w = c * sp[i] * q;
    const x0 = dphi[o];
    const x1 = dphi[o + 1];
    const x2 = dphi[o + 2];
    const x3 = dphi[o + 3];
    g0 += g * x0;
    g1 += g * x1;
    g2 += g * x2;
    g3 += g * x3;
    const w0 = w * x0;
    h00 += w0 * x0;
    h01 += w0 * x1;
    h02 += w0 * x2;
    h03 += w0 * x3;
    const w1 = w * x1;
    h11 += w1 * x1;
    h12 += w1 * x2;
    h13 += w1 * x3;
    const w2 = w * x2;
    h22 += w2 * x2;
    h23 += w2 * x3;
    const w3 = w * x3;
    h33 += w3 * x3;
  }
  acc[0] = g0;
  acc[1] = g1;
  acc[2] = g2;
  acc[3] = g3;
  acc[4] = h00;
  acc[5] = h01;
  acc[6] = h02;
  acc[7] = h03;
  acc[8] = h11;
  acc[9] = h12;
  acc[10] = h13;
  acc[11] = h22;
  acc[12] = h23;
  acc[13] = h33;
}

/**
 * Rows [start, end) for d = 8: the 8 gradient and 36 Hessian sums live in locals (generated,
 * unrolled), loaded from and stored back to acc (g then the upper triangle row by row).
 */
function gradHessBlock8(
  data: RowData,
  sp: Float64Array,
  sn: Float64Array,
  acc: Float64Array,
  start: number,
  end: number,
): void {
  const { dphi, cnt, neg } = data;
  let g0 = acc[0];
  let g1 = acc[1];
  let g2 = acc[2];
  let g3 = acc[3];
  let g4 = acc[4];
  let g5 = acc[5];
  let g6 = acc[6];
  let g7 = acc[7];
  let h00 = acc[8];
  let h01 = acc[9];
  let h02 = acc[10];
  let h03 = acc[11];
  let h04 = acc[12];
  let h05 = acc[13];
  let h06 = acc[14];
  let h07 = acc[15];
  let h11 = acc[16];
  let h12 = acc[17];
  let h13 = acc[18];
  let h14 = acc[19];
  let h15 = acc[20];
  let h16 = acc[21];
  let h17 = acc[22];
  let h22 = acc[23];
  let h23 = acc[24];
  let h24 = acc[25];
  let h25 = acc[26];
  let h26 = acc[27];
  let h27 = acc[28];
  let h33 = acc[29];
  let h34 = acc[30];
  let h35 = acc[31];
  let h36 = acc[32];
  let h37 = acc[33];
  let h44 = acc[34];
  let h45 = acc[35];
  let h46 = acc[36];
  let h47 = acc[37];
  let h55 = acc[38];
  let h56 = acc[39];
  let h57 = acc[40];
  let h66 = acc[41];
  let h67 = acc[42];
  let h77 = acc[43];
  for (let i = start, o = start * 8; i < end; i++, o += 8) {
    const c = cnt === null ? 1 : cnt[i];
    const q = sn[i];
    const g = cnt === null ? q : c * q - (neg as Float64Array)[i];
    const w = c * sp[i] * q;
    const x0 = dphi[o];
    const x1 = dphi[o + 1];
    const x2 = dphi[o + 2];
    const x3 = dphi[o + 3];
    const x4 = dphi[o + 4];
    const x5 = dphi[o + 5];
    const x6 = dphi[o + 6];
    const x7 = dphi[o + 7];
    g0 += g * x0;
    g1 += g * x1;
    g2 += g * x2;
    g3 += g * x3;
    g4 += g * x4;
    g5 += g * x5;
    g6 += g * x6;
    g7 += g * x7;
    const w0 = w * x0;
    h00 += w0 * x0;
    h01 += w0 * x1;
    h02 += w0 * x2;
    h03 += w0 * x3;
    h04 += w0 * x4;
    h05 += w0 * x5;
    h06 += w0 * x6;
    h07 += w0 * x7;
    const w1 = w * x1;
    h11 += w1 * x1;
    h12 += w1 * x2;
    h13 += w1 * x3;
    h14 += w1 * x4;
    h15 += w1 * x5;
    h16 += w1 * x6;
    h17 += w1 * x7;
    const w2 = w * x2;
    h22 += w2 * x2;
    h23 += w2 * x3;
    h24 += w2 * x4;
    h25 += w2 * x5;
    h26 += w2 * x6;
    h27 += w2 * x7;
    const w3 = w * x3;
    h33 += w3 * x3;
    h34 += w3 * x4;
    h35 += w3 * x5;
    h36 += w3 * x6;
    h37 += w3 * x7;
    const w4 = w * x4;
    h44 += w4 * x4;
    h45 += w4 * x5;
    h46 += w4 * x6;
    h47 += w4 * x7;
    const w5 = w * x5;
    h55 += w5 * x5;
    h56 += w5 * x6;
    h57 += w5 * x7;
    const w6 = w * x6;
    h66 += w6 * x6;
    h67 += w6 * x7;
    const w7 = w * x7;
    h77 += w7 * x7;
  }
  acc[0] = g0;
  acc[1] = g1;
  acc[2] = g2;
  acc[3] = g3;
  acc[4] = g4;
  acc[5] = g5;
  acc[6] = g6;
  acc[7] = g7;
  acc[8] = h00;
  acc[9] = h01;
  acc[10] = h02;
  acc[11] = h03;
  acc[12] = h04;
  acc[13] = h05;
  acc[14] = h06;
  acc[15] = h07;
  acc[16] = h11;
  acc[17] = h12;
  acc[18] = h13;
  acc[19] = h14;
  acc[20] = h15;
  acc[21] = h16;
  acc[22] = h17;
  acc[23] = h22;
  acc[24] = h23;
  acc[25] = h24;
  acc[26] = h25;
  acc[27] = h26;
  acc[28] = h27;
  acc[29] = h33;
  acc[30] = h34;
  acc[31] = h35;
  acc[32] = h36;
  acc[33] = h37;
  acc[34] = h44;
  acc[35] = h45;
  acc[36] = h46;
  acc[37] = h47;
  acc[38] = h55;
  acc[39] = h56;
  acc[40] = h57;
  acc[41] = h66;
  acc[42] = h67;
  acc[43] = h77;
}

/**
 * grad = ridge·θ − Σ g_i Δφ_i with g_i = cnt_i·σ(−z_i) − neg_i, and (d ≤ FUSED_MAX_D) H = ridge·I +
 * Σ cnt_i·σ(z_i)σ(−z_i)·Δφ_iΔφ_iᵀ in the same pass; otherwise fills ws.w for addOuterProducts.
 */
function gradHess(data: RowData, ridge: number, theta: Float64Array, ws: Workspace): void {
  const { dphi, n, d, cnt, neg } = data;
  const { sp, sn, grad, H } = ws;
  if (d === 4 || d === 8) return gradHessUnrolled(data, ridge, theta, ws);
  for (let j = 0; j < d; j++) grad[j] = ridge * theta[j];
  if (d <= FUSED_MAX_D) {
    // Other small d: upper triangle in H, one pass.
    H.fill(0);
    for (let i = 0; i < n; i++) {
      const c = cnt === null ? 1 : cnt[i];
      const q = sn[i];
      const g = cnt === null ? q : c * q - (neg as Float64Array)[i];
      const w = c * sp[i] * q;
      const o = i * d;
      for (let a = 0; a < d; a++) {
        const xa = dphi[o + a];
        grad[a] -= g * xa;
        const wa = w * xa;
        const ra = a * d;
        for (let b = a; b < d; b++) H[ra + b] += wa * dphi[o + b];
      }
    }
    for (let a = 0; a < d; a++) {
      H[a * d + a] += ridge;
      for (let b = a + 1; b < d; b++) H[b * d + a] = H[a * d + b];
    }
    return;
  }
  const w = ws.w;
  // Gradient coefficients into dz (free until the step is known) and Hessian weights into w.
  const gc = ws.dz;
  for (let i = 0; i < n; i++) {
    const c = cnt === null ? 1 : cnt[i];
    const q = sn[i];
    gc[i] = cnt === null ? q : c * q - (neg as Float64Array)[i];
    w[i] = c * sp[i] * q;
  }
  // Four rows per pass over grad: one load/store of grad[j] per four products instead of per one
  // (the per-row version was bound by that store→load chain, ~30% of a d = 32 fit).
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const g0 = gc[i];
    const g1 = gc[i + 1];
    const g2 = gc[i + 2];
    const g3 = gc[i + 3];
    const o0 = i * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    for (let j = 0; j < d; j++)
      grad[j] -= g0 * dphi[o0 + j] + g1 * dphi[o1 + j] + (g2 * dphi[o2 + j] + g3 * dphi[o3 + j]);
  }
  for (; i < n; i++) {
    const g = gc[i];
    const o = i * d;
    for (let j = 0; j < d; j++) grad[j] -= g * dphi[o + j];
  }
  H.fill(0);
  for (let j = 0; j < d; j++) H[j * d + j] = ridge;
  addOuterProducts(n, d, dphi, w, H);
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
  data: RowData,
  ridge: number,
  theta: Float64Array,
  ws: Workspace,
  maxIter: number,
  gtol: number,
  useNative: boolean,
): SolveResult {
  if (useNative) return newtonNative(data, ridge, theta, ws, maxIter, gtol);
  const { n, d } = data;
  const { grad, H, L, step } = ws;
  let value = margins(data, theta, ws) + 0.5 * ridge * sqNorm(theta);
  /** True after certified full steps, which skip the loss; recomputed from σ(±z) when needed. */
  let valueStale = false;
  const current = (): number => {
    if (valueStale) {
      value = dataTerm(data, ws) + 0.5 * ridge * sqNorm(theta);
      valueStale = false;
    }
    return value;
  };
  let iterations = 0;
  let gradNorm = Infinity;
  for (;;) {
    gradHess(data, ridge, theta, ws);
    gradNorm = Math.sqrt(sqNorm(grad));
    if (gradNorm <= gtol) return { value: current(), gradNorm, iterations, converged: true };
    if (iterations >= maxIter) return { value: current(), gradNorm, iterations, converged: false };
    factorWithJitter(H, d, L);
    ws.haveFactor = true;
    for (let j = 0; j < d; j++) step[j] = -grad[j];
    choleskySolve(L, d, step, step);
    let slope = 0;
    for (let j = 0; j < d; j++) slope += grad[j] * step[j];
    // −slope is the squared Newton decrement; 0 means the step is lost in rounding.
    if (!(-slope > 0)) return { value: current(), gradNorm, iterations, converged: gradNorm <= gtol * 1e3 };
    computeMargins(data, step, ws.dz);
    if (fullStepCertified(ws, n, d, slope)) {
      for (let j = 0; j < d; j++) theta[j] += step[j];
      takeFullStep(n, ws);
      valueStale = true;
      iterations++;
      continue;
    }
    // Ridge change ‖θ+ts‖² − ‖θ‖² = 2t⟨θ,s⟩ + t²‖s‖², written without cancellation.
    let ts = 0;
    for (let j = 0; j < d; j++) ts += theta[j] * step[j];
    const ss = sqNorm(step);
    let t = 1;
    let accepted = false;
    if (valueStale) {
      value = dataTerm(data, ws) + 0.5 * ridge * sqNorm(theta);
      valueStale = false;
    }
    for (let ls = 0; ls < 60; ls++) {
      const delta = lossDelta(data, ws, t) + 0.5 * ridge * (2 * t * ts + t * t * ss);
      if (delta <= 1e-4 * t * slope) {
        for (let j = 0; j < d; j++) theta[j] += t * step[j];
        value += delta;
        // The trial margins become current; the old buffer is reused for the next trial.
        [ws.z, ws.zt] = [ws.zt, ws.z];
        updateSigmoids(n, ws);
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    iterations++;
    if (!accepted) return { value, gradNorm, iterations, converged: gradNorm <= gtol * 1e3 };
  }
}

const nativeInfo = new Float64Array(6);

/** The same solve in C (native/src/mle.c): one fused pass over Δφ per iteration. */
function newtonNative(
  data: RowData,
  ridge: number,
  theta: Float64Array,
  ws: Workspace,
  maxIter: number,
  gtol: number,
): SolveResult {
  const btNewton = nativeOp('btNewton');
  if (!btNewton) throw new Error('fitMLE: the native solver is not available');
  const { dphi, n, d, cnt, neg } = data;
  btNewton(dphi, n, d, cnt, neg, ridge, theta, maxIter, gtol, ws.grad, ws.H, ws.L, nativeInfo);
  if (nativeInfo[4] === 1) ws.haveFactor = true;
  return {
    value: nativeInfo[0],
    gradNorm: nativeInfo[1],
    iterations: nativeInfo[2],
    converged: nativeInfo[3] === 1,
  };
}

/**
 * Whether fitMLE runs the native solver (native/src/mle.c): the kernel backend is native and the
 * addon provides it (src/native's setBackend('ts') forces the TypeScript solver). Both minimise
 * the same objective with the same stopping rule, so they agree to the accuracy of that rule.
 */
function nativeSolver(): boolean {
  return nativeOp('btNewton') !== null;
}

/**
 * Whether the full Newton step is guaranteed to pass the Armijo test, so the line search's loss
 * evaluation (an expm1 and a log1p per pair, half of a fit's time) can be skipped. Along the step,
 * g(t) = L(θ + t·s) has g'(0) = slope and, because each logistic weight σ(z)σ(−z) changes by at most a
 * factor e^{|Δz|} when z moves by Δz, g''(t) ≤ e^{tν}·sᵀHs with ν = max_i |Δφ_i·s| (the ridge term's
 * curvature is constant). Integrating twice: g(1) − g(0) ≤ slope + sᵀHs·(e^ν − 1 − ν)/ν². When that is
 * ≤ 1e-4·slope, the exact Armijo check would accept t = 1 too (for small ν the factor is ≈ ½, far
 * from the 1 − 1e-4 where it could fail), so the iterates are the same as with the full line search.
 */
function fullStepCertified(ws: Workspace, n: number, d: number, slope: number): boolean {
  const { dz, H, step } = ws;
  let nu = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(dz[i]);
    if (a > nu) nu = a;
  }
  if (!(nu <= 1.5)) return false;
  // sᵀHs with the H that was factorised (any jitter only adds curvature, which keeps the bound valid).
  let q = 0;
  for (let a = 0; a < d; a++) {
    let r = 0;
    for (let b = 0; b < d; b++) r += H[a * d + b] * step[b];
    q += step[a] * r;
  }
  const c = nu < 1e-6 ? 0.5 + nu / 6 : (Math.expm1(nu) - nu) / (nu * nu);
  return slope + q * c <= 1e-4 * slope;
}

/** z += Δz and σ(±z) updated as in updateSigmoids, with e^{−Δz} from fastExp (|Δz| ≤ 1.5 here). */
function takeFullStep(n: number, ws: Workspace): void {
  const { z, dz, sp, sn } = ws;
  for (let i = 0; i < n; i++) {
    const delta = dz[i];
    z[i] += delta;
    const a = sp[i];
    const b = sn[i] * fastExp(-delta);
    const inv = 1 / (a + b);
    sp[i] = a * inv;
    sn[i] = b * inv;
  }
}

/**
 * The data term Σ cnt·softplus(−z) + neg·z from the current σ(±z): softplus(−z) = log1p(e^{−z}) with
 * e^{−z} = σ(−z)/σ(z) for z ≥ 0, and −z + log1p(σ(z)/σ(−z)) otherwise (one log1p per pair).
 */
function dataTerm(data: RowData, ws: Workspace): number {
  const { n, cnt, neg } = data;
  const { z, sp, sn } = ws;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i];
    const l = zi >= 0 ? Math.log1p(sn[i] / sp[i]) : Math.log1p(sp[i] / sn[i]) - zi;
    s += cnt === null ? l : cnt[i] * l + (neg as Float64Array)[i] * zi;
  }
  return s;
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

/**
 * Sufficient statistics of the pairs: identical unordered (context, {a, b}) pairs give the same Δφ up
 * to sign, so each distinct one becomes one row with a count and the number with the opposite
 * orientation (exact: the loss is a sum over pairs). Worth it only when pairs repeat, so it is tried
 * only when n ≥ ¼ of the number of possible unordered pairs (under uniform sampling the duplicate
 * fraction is then ≳ 10%) and a direct-address table over (context, a, b) (Σ K_c² slots) is at most
 * 4n; it is dropped if fewer than a quarter of the rows would go away. Returns null to use one row per
 * pair (also for out-of-range indices, which featureDiffs reports as NaN).
 */
function groupedRows(env: BanditEnv, pairs: PairData): RowData | null {
  const n = pairs.context.length;
  const off = env.offsets;
  const C = env.nContexts;
  if (n < 4096) return null;
  let possible = 0;
  let slots = 0;
  for (let c = 0; c < C; c++) {
    const k = off[c + 1] - off[c];
    possible += (k * (k + 1)) / 2;
    slots += k * k;
  }
  if (n < possible / 4 || slots > 4 * n) return null;
  // Slot of (c, lo, hi) = base2[c] + lo·K_c + hi (local indices); value = group id + 1 (0 = empty).
  const base2 = new Float64Array(C);
  for (let c = 0, t = 0; c < C; c++) {
    base2[c] = t;
    const k = off[c + 1] - off[c];
    t += k * k;
  }
  const slot = new Int32Array(slots);
  const gLo = new Int32Array(n);
  const gHi = new Int32Array(n);
  const cnt = new Float64Array(n);
  const neg = new Float64Array(n);
  let m = 0;
  const { context, chosen, rejected } = pairs;
  for (let i = 0; i < n; i++) {
    const c = context[i];
    if (!(c >= 0 && c < C)) return null;
    const k = off[c + 1] - off[c];
    const a = chosen[i];
    const b = rejected[i];
    if (!(a >= 0 && a < k && b >= 0 && b < k)) return null;
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const h = base2[c] + lo * k + hi;
    const g = slot[h];
    if (g === 0) {
      slot[h] = m + 1;
      gLo[m] = off[c] + lo;
      gHi[m] = off[c] + hi;
      cnt[m] = 1;
      neg[m] = a === lo ? 0 : 1;
      m++;
    } else {
      cnt[g - 1] += 1;
      if (a !== lo) neg[g - 1] += 1;
    }
  }
  if (m > 0.75 * n) return null;
  const d = env.d;
  const F = env.features;
  const dphi = new Float64Array(m * d);
  for (let g = 0; g < m; g++) {
    const l = gLo[g] * d;
    const r = gHi[g] * d;
    const o = g * d;
    for (let j = 0; j < d; j++) dphi[o + j] = F[l + j] - F[r + j];
  }
  return new RowData(dphi, m, d, cnt.slice(0, m), neg.slice(0, m));
}

function isDiffData(x: BanditEnv | DiffData): x is DiffData {
  return (x as DiffData).dphi !== undefined;
}

/**
 * Public-entry check of pairs against an environment (O(n), once per fit): equal lengths, known
 * contexts, actions inside their context, chosen ≠ rejected is allowed (a tie has Δφ = 0).
 */
export function requireValidPairs(env: BanditEnv, pairs: PairData, fn: string): void {
  requirePairLengths(pairs, fn);
  const n = pairs.context.length;
  const { context, chosen, rejected } = pairs;
  for (let i = 0; i < n; i++) {
    const c = context[i];
    if (!(c >= 0 && c < env.nContexts && Number.isInteger(c)))
      throw new GshfInputError(`${fn}: pair ${i}: context ${c} is out of range (0..${env.nContexts - 1})`);
    const K = env.offsets[c + 1] - env.offsets[c];
    const a = chosen[i];
    const b = rejected[i];
    if (!(a >= 0 && a < K && Number.isInteger(a))) throw badAction(fn, i, 'chosen', a, c, K);
    if (!(b >= 0 && b < K && Number.isInteger(b))) throw badAction(fn, i, 'rejected', b, c, K);
  }
}

function requirePairLengths(pairs: PairData, fn: string): void {
  const n = pairs.context.length;
  if (pairs.chosen.length !== n || pairs.rejected.length !== n)
    throw new GshfInputError(
      `${fn}: pairs have ${n} contexts, ${pairs.chosen.length} chosen and ${pairs.rejected.length} rejected actions (must be equal)`,
    );
}

function badAction(fn: string, i: number, what: string, a: number, c: number, K: number): GshfInputError {
  return new GshfInputError(
    `${fn}: pair ${i}: ${what} action ${a} is out of range (context ${c} has ${K} actions)`,
  );
}

/**
 * Reused Δφ buffer of the native gather (grow-only up to DPHI_CACHE_MAX entries; larger fits
 * allocate afresh). Safe for the same reason as the shared Workspace: fitMLE is synchronous, does
 * not re-enter, and nothing it returns refers to Δφ.
 */
const DPHI_CACHE_MAX = 1 << 20;
let dphiCache = new Float64Array(0);
function dphiBuffer(len: number): Float64Array {
  if (len > DPHI_CACHE_MAX) return new Float64Array(len);
  if (dphiCache.length < len) dphiCache = new Float64Array(len);
  return dphiCache;
}

/**
 * The rows of fitMLE(env, pairs): grouped when pairs repeat (groupedRows), else one Δφ row per pair,
 * gathered natively into a reused buffer when the native solver runs (the addon also checks the
 * ranges; on a bad pair, requireValidPairs names it), else by featureDiffs after requireValidPairs.
 */
function rowsFromPairs(env: BanditEnv, pairs: PairData, useNative: boolean): RowData {
  requirePairLengths(pairs, 'fitMLE');
  const n = pairs.context.length;
  const d = env.d;
  // groupedRows returns null on any out-of-range pair, so its rows are valid.
  const grouped = groupedRows(env, pairs);
  if (grouped) return grouped;
  const btGather = useNative ? nativeOp('btGather') : null;
  if (btGather && isInt32Pairs(pairs) && env.offsets instanceof Int32Array) {
    const buf = dphiBuffer(n * d);
    const { context, chosen, rejected } = pairs;
    if (btGather(env.features, env.offsets, context, chosen, rejected, d, n, buf) < 0)
      return new RowData(buf, n, d, null, null);
  }
  requireValidPairs(env, pairs, 'fitMLE');
  return new RowData(featureDiffs(env, pairs), n, d, null, null);
}

function isInt32Pairs(p: PairData): boolean {
  return (
    p.context instanceof Int32Array && p.chosen instanceof Int32Array && p.rejected instanceof Int32Array
  );
}

/**
 * True when θ orders every pair (row) the way it was labelled, with at least one strict margin:
 * then L(cθ) decreases for all c > 1, so with λ = 0 the MLE is at infinity (separable data).
 * Overwrites `z` with the margins.
 */
function separates(data: RowData, theta: Float64Array, z: Float64Array): boolean {
  computeMargins(data, theta, z);
  const { n, cnt, neg } = data;
  let strict = false;
  for (let i = 0; i < n; i++) {
    const nNeg = neg === null ? 0 : neg[i];
    const nPos = cnt === null ? 1 : cnt[i] - nNeg;
    if ((nPos > 0 && z[i] < 0) || (nNeg > 0 && z[i] > 0)) return false;
    if ((nPos > 0 && z[i] > 0) || (nNeg > 0 && z[i] < 0)) strict = true;
  }
  return strict;
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
  let data: RowData;
  let opts: MLEOptions;
  /** Number of pairs (the rows may be grouped pairs). */
  let nPairs: number;
  if (maybeOpts === undefined && pairsOrOpts && 'lambda' in pairsOrOpts) {
    opts = pairsOrOpts;
    if (!isDiffData(source)) throw new Error('fitMLE(env, opts): pairs are required with an environment');
    data = new RowData(source.dphi, source.n, source.d, null, null);
    nPairs = source.n;
  } else {
    if (!maybeOpts) throw new Error('fitMLE: options {lambda} are required');
    opts = maybeOpts;
    if (isDiffData(source)) {
      data = new RowData(source.dphi, source.n, source.d, null, null);
      nPairs = source.n;
    } else {
      const pairs = pairsOrOpts as PairData | null | undefined;
      if (!pairs) throw new Error('fitMLE: pairs are required when fitting from an environment');
      nPairs = pairs.context.length;
      data = rowsFromPairs(source, pairs, nativeSolver());
    }
  }
  const { n, d } = data;
  if (data.dphi.length < n * d)
    throw new RangeError(`fitMLE: dphi has ${data.dphi.length} entries, need n·d = ${n * d}`);
  const lambda = opts.lambda;
  if (!(lambda >= 0)) throw new RangeError(`fitMLE: lambda must be ≥ 0, got ${lambda}`);
  const maxIter = opts.maxIter ?? 100;
  const gtol = (opts.tol ?? 1e-10) * Math.max(1, nPairs);
  const theta = new Float64Array(d);
  if (opts.init) {
    if (opts.init.length !== d)
      throw new RangeError(`fitMLE: init has length ${opts.init.length}, expected ${d}`);
    theta.set(opts.init);
  }
  const ws = workspaceFor(n, d);
  const B = opts.normBound;
  if (B !== undefined && !(B > 0)) throw new RangeError(`fitMLE: normBound must be > 0, got ${B}`);
  // A warm start outside the ball is fine: the unconstrained solve below does not care.
  const useNative = nativeSolver();
  const r0 = newton(data, lambda, theta, ws, maxIter, gtol, useNative);
  let iterations = r0.iterations;
  const norm0 = Math.sqrt(sqNorm(theta));
  if (B === undefined || norm0 <= B) {
    const diverged = lambda === 0 && separates(data, theta, ws.z);
    return {
      theta,
      negLogLik: r0.value,
      gradNorm: r0.gradNorm,
      iterations,
      converged: r0.converged && !diverged,
      mu: 0,
      diverged,
    };
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
    const r = newton(data, lambda + mu, theta, ws, maxIter, gtolMu, useNative);
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
  const negLogLik = margins(data, theta, ws) + 0.5 * lambda * sqNorm(theta);
  // KKT residual ∇L(θ) + μθ.
  gradHess(data, lambda + mu, theta, ws);
  return {
    theta,
    negLogLik,
    gradNorm: Math.sqrt(sqNorm(ws.grad)),
    iterations,
    converged: converged && onBoundary,
    mu,
    diverged: false,
  };
}
