/**
 * Dense float64 linear algebra for small/medium d (d ≤ a few hundred): row-major d×d matrices in
 * Float64Arrays. Everything the bandit lab needs (Cholesky, SPD solves, Mahalanobis norms,
 * weighted Gram accumulation) with no allocation in the hot loops.
 */
import { nativeOp } from '../native/index.js';

/** Σ a[offA+i]·b[offB+i] for i < len. */
export function dot(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  offA = 0,
  offB = 0,
  len = a.length - offA,
): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[offA + i] * b[offB + i];
  return s;
}

/** Euclidean norm ‖v‖₂. */
export function norm2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** y += alpha·x (in place); returns y. */
export function axpy(alpha: number, x: ArrayLike<number>, y: Float64Array): Float64Array {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
  return y;
}

/** out = A·x for a rows×cols row-major A. */
export function matVec(
  A: ArrayLike<number>,
  rows: number,
  cols: number,
  x: ArrayLike<number>,
  out: Float64Array = new Float64Array(rows),
): Float64Array {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const o = i * cols;
    for (let j = 0; j < cols; j++) s += A[o + j] * x[j];
    out[i] = s;
  }
  return out;
}

/** d×d identity scaled by s. */
export function scaledIdentity(d: number, s = 1): Float64Array {
  const I = new Float64Array(d * d);
  for (let i = 0; i < d; i++) I[i * d + i] = s;
  return I;
}

/**
 * Cholesky factor L (lower triangular, row-major, upper part zero) with A = L·Lᵀ. Reads only the
 * lower triangle of A. Throws if A is not (numerically) positive definite, naming the pivot.
 */
export function cholesky(
  A: ArrayLike<number>,
  d: number,
  out: Float64Array = new Float64Array(d * d),
): Float64Array {
  const L = out;
  L.fill(0);
  for (let j = 0; j < d; j++) {
    let s = A[j * d + j];
    const rj = j * d;
    for (let k = 0; k < j; k++) s -= L[rj + k] * L[rj + k];
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new Error(
        `cholesky: matrix is not positive definite (pivot ${j} of ${d} is ${s}); add a ridge λ > 0 or check for NaN`,
      );
    }
    const ljj = Math.sqrt(s);
    L[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < d; i++) {
      const ri = i * d;
      let t = A[ri + j];
      for (let k = 0; k < j; k++) t -= L[ri + k] * L[rj + k];
      L[ri + j] = t * inv;
    }
  }
  return L;
}

/** Solve L·y = b (forward substitution); y may alias b. */
export function forwardSolve(
  L: ArrayLike<number>,
  d: number,
  b: ArrayLike<number>,
  y: Float64Array = new Float64Array(d),
): Float64Array {
  for (let i = 0; i < d; i++) {
    let s = b[i];
    const ri = i * d;
    for (let k = 0; k < i; k++) s -= L[ri + k] * y[k];
    y[i] = s / L[ri + i];
  }
  return y;
}

/** Solve Lᵀ·x = y (back substitution); x may alias y. */
export function backSolveT(
  L: ArrayLike<number>,
  d: number,
  y: ArrayLike<number>,
  x: Float64Array = new Float64Array(d),
): Float64Array {
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < d; k++) s -= L[k * d + i] * x[k];
    x[i] = s / L[i * d + i];
  }
  return x;
}

/** Solve (L·Lᵀ)·x = b given the Cholesky factor L. */
export function choleskySolve(
  L: ArrayLike<number>,
  d: number,
  b: ArrayLike<number>,
  out: Float64Array = new Float64Array(d),
): Float64Array {
  forwardSolve(L, d, b, out);
  return backSolveT(L, d, out, out);
}

/** Solve A·x = b for symmetric positive definite A. */
export function solveSPD(A: ArrayLike<number>, d: number, b: ArrayLike<number>): Float64Array {
  return choleskySolve(cholesky(A, d), d, b);
}

/** A⁻¹ for symmetric positive definite A (column by column from one Cholesky factorisation). */
export function inverseSPD(A: ArrayLike<number>, d: number): Float64Array {
  const L = cholesky(A, d);
  const inv = new Float64Array(d * d);
  const e = new Float64Array(d);
  const col = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    e.fill(0);
    e[j] = 1;
    choleskySolve(L, d, e, col);
    for (let i = 0; i < d; i++) inv[i * d + j] = col[i];
  }
  // Symmetrise to remove rounding asymmetry.
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const m = 0.5 * (inv[i * d + j] + inv[j * d + i]);
      inv[i * d + j] = m;
      inv[j * d + i] = m;
    }
  return inv;
}

/**
 * vᵀA⁻¹v given the Cholesky factor L of A: with L·y = v, vᵀA⁻¹v = ‖y‖². One forward solve.
 * `scratch` (length d) avoids an allocation in loops.
 */
export function mahalanobisSq(
  L: ArrayLike<number>,
  d: number,
  v: ArrayLike<number>,
  scratch: Float64Array = new Float64Array(d),
  offV = 0,
): number {
  let s2 = 0;
  for (let i = 0; i < d; i++) {
    let s = v[offV + i];
    const ri = i * d;
    for (let k = 0; k < i; k++) s -= L[ri + k] * scratch[k];
    const yi = s / L[ri + i];
    scratch[i] = yi;
    s2 += yi * yi;
  }
  return s2;
}

/** Above this many flops (n·d²) we hand the Gram accumulation to native dsyrk when it exists. */
const NATIVE_SYRK_MIN_WORK = 1 << 16;

/** Rows per native dsyrk call when rows must be rescaled by √w (bounds the scratch memory). */
const SYRK_BLOCK_ROWS = 16384;
let syrkScratch: Float64Array = new Float64Array(0);

/**
 * out (d×d, row-major, both triangles) += Σ_{i<n} w_i · x_i x_iᵀ, where row i of X starts at
 * offX + i·ldx (ldx defaults to d). weights = null means all ones. `out` must be symmetric on entry
 * (the TS path accumulates the upper triangle and mirrors it). Negative weights are allowed on the
 * TS path; the native path needs w ≥ 0 (it scales rows by √w) and falls back otherwise.
 */
export function addOuterProducts(
  n: number,
  d: number,
  X: Float64Array,
  weights: Float64Array | null,
  out: Float64Array,
  offX = 0,
  ldx = d,
): Float64Array {
  if (n === 0) return out;
  const dsyrk = n * d * d >= NATIVE_SYRK_MIN_WORK ? nativeOp('dsyrk') : null;
  if (dsyrk) {
    if (weights === null) {
      dsyrk(n, d, 1, X, offX, ldx, 1, out);
      return out;
    }
    const dsyrkWeighted = nativeOp('dsyrkWeighted');
    if (dsyrkWeighted) {
      // Scales the rows in C (√w into a blocked scratch, or dgemm for negative weights): the TS
      // scaling loop below cost as much as the dsyrk itself at d = 32.
      dsyrkWeighted(n, d, 1, X, offX, ldx, weights, 1, out);
      return out;
    }
    let nonNeg = true;
    for (let i = 0; i < n; i++) if (!(weights[i] >= 0)) nonNeg = false;
    if (nonNeg) {
      const rows = Math.min(n, SYRK_BLOCK_ROWS);
      if (syrkScratch.length < rows * d) syrkScratch = new Float64Array(rows * d);
      const S = syrkScratch;
      for (let start = 0; start < n; start += rows) {
        const m = Math.min(rows, n - start);
        for (let r = 0; r < m; r++) {
          const i = start + r;
          const s = Math.sqrt(weights[i]);
          const o = offX + i * ldx;
          const so = r * d;
          for (let j = 0; j < d; j++) S[so + j] = s * X[o + j];
        }
        dsyrk(m, d, 1, S, 0, d, 1, out);
      }
      return out;
    }
  }
  // Upper triangle only (half the flops), then mirror. Four rows per pass over `out`, so each
  // out[a][b] is loaded and stored once per four outer products (the loop is memory-bound).
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w0 = weights === null ? 1 : weights[i];
    const w1 = weights === null ? 1 : weights[i + 1];
    const w2 = weights === null ? 1 : weights[i + 2];
    const w3 = weights === null ? 1 : weights[i + 3];
    const o0 = offX + i * ldx;
    const o1 = o0 + ldx;
    const o2 = o1 + ldx;
    const o3 = o2 + ldx;
    for (let a = 0; a < d; a++) {
      const x0 = w0 * X[o0 + a];
      const x1 = w1 * X[o1 + a];
      const x2 = w2 * X[o2 + a];
      const x3 = w3 * X[o3 + a];
      const ra = a * d;
      for (let b = a; b < d; b++)
        out[ra + b] += x0 * X[o0 + b] + x1 * X[o1 + b] + x2 * X[o2 + b] + x3 * X[o3 + b];
    }
  }
  for (; i < n; i++) {
    const w = weights === null ? 1 : weights[i];
    if (w === 0) continue;
    const o = offX + i * ldx;
    for (let a = 0; a < d; a++) {
      const xa = w * X[o + a];
      if (xa === 0) continue;
      const ra = a * d;
      for (let b = a; b < d; b++) out[ra + b] += xa * X[o + b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) out[b * d + a] = out[a * d + b];
  return out;
}

/**
 * Eigendecomposition of a symmetric d×d matrix by cyclic Jacobi rotations (d is small in the lab,
 * and Jacobi is accurate for small eigenvalues, which the uncertainty code cares about). Returns eigenvalues ascending
 * and eigenvectors as rows of `vectors` (row i belongs to values[i]).
 */
export function symmetricEigen(
  A: ArrayLike<number>,
  d: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(A as ArrayLike<number>);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < d; i++) {
      diag += a[i * d + i] * a[i * d + i];
      for (let j = i + 1; j < d; j++) off += a[i * d + j] * a[i * d + j];
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (apq === 0) continue;
        const app = a[p * d + p];
        const aqq = a[q * d + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[i * d + i] - a[j * d + j]);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((col, r) => {
    values[r] = a[col * d + col];
    for (let k = 0; k < d; k++) vectors[r * d + k] = v[k * d + col];
  });
  return { values, vectors };
}

/** Eigenvalues of a symmetric d×d matrix, ascending (diagnostics such as the smallest eigenvalue of Σ). */
export function symmetricEigenvalues(A: ArrayLike<number>, d: number): Float64Array {
  return symmetricEigen(A, d).values;
}
