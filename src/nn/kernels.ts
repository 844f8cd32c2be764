/**
 * Hot float32 kernels for the LM engine. Every function first asks the kernel registry
 * (src/native: `nativeOp`) for the native kernel and otherwise runs a tight pure-TypeScript loop.
 * The registry's one switch (`setBackend('ts')`, or GSHF_NO_NATIVE=1) forces the TS path here and
 * in every other caller, so gradient checks and tests are independent of the addon.
 *
 * Matrix layout: row-major with explicit element offsets and leading dimensions, so attention can
 * run on strided views of the fused qkv buffer without copies.
 */
import { native, nativeOp, setBackend } from '../native/index.js';

/**
 * Force (false) or re-allow (true) the native path.
 * @deprecated Use `setBackend('ts' | 'auto')` (src/native, re-exported by src/nn): the one switch,
 * which reaches the bandit lab too. Kept because it is part of the published src/nn API.
 */
export function setUseNative(on: boolean): void {
  setBackend(on ? 'auto' : 'ts');
}

/** Human-readable description of the kernel backend, for logs and benchmarks. */
export function kernelBackend(): string {
  const n = native();
  return n ? `native (${n.describe()})` : 'pure TypeScript';
}

/**
 * C = alpha·op(A)·op(B) + beta·C (row-major). op(A) is M×K, op(B) is K×N.
 * transA: A is stored K×M; transB: B is stored N×K. beta = 0 overwrites C (ignores old contents).
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  offA: number,
  lda: number,
  B: Float32Array,
  offB: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  offC: number,
  ldc: number,
): void {
  if (M === 0 || N === 0) return;
  const nat = nativeOp('sgemm');
  if (nat) {
    nat(transA, transB, M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
    return;
  }
  if (!transA && transB) gemmNT(M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
  else if (!transA && !transB) gemmNN(M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
  else if (transA && !transB) gemmTN(M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
  else gemmTT(M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
}

// The 4×4 register tiles below are written out by hand (not generated): four GEMM bodies (NT, NN, TN
// and the shared edges) of one fixed pattern, 16 accumulators each, which V8 keeps in registers.
// All TS kernels accumulate in float64 registers over k in increasing order; the 4×4 tile and the
// edge loops use the same order, so a row's result does not depend on which path computed it
// (this keeps KV-cache decoding bit-identical to the full forward on the TS path).

function store(C: Float32Array, idx: number, alpha: number, beta: number, acc: number): void {
  C[idx] = beta === 0 ? alpha * acc : alpha * acc + beta * C[idx];
}

/** C = A·Bᵀ: both operands stream contiguously along k (dot-product form). */
function gemmNT(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  offA: number,
  lda: number,
  B: Float32Array,
  offB: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  offC: number,
  ldc: number,
): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = offA + i * lda,
      a1 = a0 + lda,
      a2 = a1 + lda,
      a3 = a2 + lda;
    for (let j = 0; j < N4; j += 4) {
      const b0 = offB + j * ldb,
        b1 = b0 + ldb,
        b2 = b1 + ldb,
        b3 = b2 + ldb;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k],
          x1 = A[a1 + k],
          x2 = A[a2 + k],
          x3 = A[a3 + k];
        const y0 = B[b0 + k],
          y1 = B[b1 + k],
          y2 = B[b2 + k],
          y3 = B[b3 + k];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let c = offC + i * ldc + j;
      store(C, c, alpha, beta, c00);
      store(C, c + 1, alpha, beta, c01);
      store(C, c + 2, alpha, beta, c02);
      store(C, c + 3, alpha, beta, c03);
      c += ldc;
      store(C, c, alpha, beta, c10);
      store(C, c + 1, alpha, beta, c11);
      store(C, c + 2, alpha, beta, c12);
      store(C, c + 3, alpha, beta, c13);
      c += ldc;
      store(C, c, alpha, beta, c20);
      store(C, c + 1, alpha, beta, c21);
      store(C, c + 2, alpha, beta, c22);
      store(C, c + 3, alpha, beta, c23);
      c += ldc;
      store(C, c, alpha, beta, c30);
      store(C, c + 1, alpha, beta, c31);
      store(C, c + 2, alpha, beta, c32);
      store(C, c + 3, alpha, beta, c33);
    }
    for (let j = N4; j < N; j++) {
      const b0 = offB + j * ldb;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let k = 0; k < K; k++) {
        const y = B[b0 + k];
        c0 += A[a0 + k] * y;
        c1 += A[a1 + k] * y;
        c2 += A[a2 + k] * y;
        c3 += A[a3 + k] * y;
      }
      const c = offC + i * ldc + j;
      store(C, c, alpha, beta, c0);
      store(C, c + ldc, alpha, beta, c1);
      store(C, c + 2 * ldc, alpha, beta, c2);
      store(C, c + 3 * ldc, alpha, beta, c3);
    }
  }
  for (let i = M4; i < M; i++) {
    const a0 = offA + i * lda;
    let j = 0;
    for (; j < N4; j += 4) {
      const b0 = offB + j * ldb,
        b1 = b0 + ldb,
        b2 = b1 + ldb,
        b3 = b2 + ldb;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k];
        c0 += x * B[b0 + k];
        c1 += x * B[b1 + k];
        c2 += x * B[b2 + k];
        c3 += x * B[b3 + k];
      }
      const c = offC + i * ldc + j;
      store(C, c, alpha, beta, c0);
      store(C, c + 1, alpha, beta, c1);
      store(C, c + 2, alpha, beta, c2);
      store(C, c + 3, alpha, beta, c3);
    }
    for (; j < N; j++) {
      const b0 = offB + j * ldb;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[a0 + k] * B[b0 + k];
      store(C, offC + i * ldc + j, alpha, beta, acc);
    }
  }
}

/**
 * Edges (rows ≥ M4 or columns ≥ N4) for NN and TN: C[i, j] accumulates a(i,k)·B[k, j..j+3] with B rows contiguous.
 * sa = stride between consecutive i in A, sk = stride between consecutive k in A.
 */
function gemmXNEdges(
  M: number,
  N: number,
  K: number,
  M4: number,
  N4: number,
  alpha: number,
  A: Float32Array,
  offA: number,
  sa: number,
  sk: number,
  B: Float32Array,
  offB: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  offC: number,
  ldc: number,
): void {
  for (let i = 0; i < M4; i += 4) {
    const a0 = offA + i * sa,
      a1 = a0 + sa,
      a2 = a1 + sa,
      a3 = a2 + sa;
    for (let j = N4; j < N; j++) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      let bk = offB + j;
      let ak = 0;
      for (let k = 0; k < K; k++) {
        const y = B[bk];
        c0 += A[a0 + ak] * y;
        c1 += A[a1 + ak] * y;
        c2 += A[a2 + ak] * y;
        c3 += A[a3 + ak] * y;
        bk += ldb;
        ak += sk;
      }
      const c = offC + i * ldc + j;
      store(C, c, alpha, beta, c0);
      store(C, c + ldc, alpha, beta, c1);
      store(C, c + 2 * ldc, alpha, beta, c2);
      store(C, c + 3 * ldc, alpha, beta, c3);
    }
  }
  for (let i = M4; i < M; i++) {
    const a0 = offA + i * sa;
    let j = 0;
    for (; j < N4; j += 4) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      let bk = offB + j;
      let ak = a0;
      for (let k = 0; k < K; k++) {
        const x = A[ak];
        c0 += x * B[bk];
        c1 += x * B[bk + 1];
        c2 += x * B[bk + 2];
        c3 += x * B[bk + 3];
        bk += ldb;
        ak += sk;
      }
      const c = offC + i * ldc + j;
      store(C, c, alpha, beta, c0);
      store(C, c + 1, alpha, beta, c1);
      store(C, c + 2, alpha, beta, c2);
      store(C, c + 3, alpha, beta, c3);
    }
    for (; j < N; j++) {
      let acc = 0;
      let bk = offB + j;
      let ak = a0;
      for (let k = 0; k < K; k++) {
        acc += A[ak] * B[bk];
        bk += ldb;
        ak += sk;
      }
      store(C, offC + i * ldc + j, alpha, beta, acc);
    }
  }
}

function gemmNN(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  offA: number,
  lda: number,
  B: Float32Array,
  offB: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  offC: number,
  ldc: number,
): void {
  // Specialised 4×4 tile (unit k-stride in A): ~2× faster than the generic strided body in V8.
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = offA + i * lda,
      a1 = a0 + lda,
      a2 = a1 + lda,
      a3 = a2 + lda;
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let bk = offB + j;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k],
          x1 = A[a1 + k],
          x2 = A[a2 + k],
          x3 = A[a3 + k];
        const y0 = B[bk],
          y1 = B[bk + 1],
          y2 = B[bk + 2],
          y3 = B[bk + 3];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
        bk += ldb;
      }
      let c = offC + i * ldc + j;
      store(C, c, alpha, beta, c00);
      store(C, c + 1, alpha, beta, c01);
      store(C, c + 2, alpha, beta, c02);
      store(C, c + 3, alpha, beta, c03);
      c += ldc;
      store(C, c, alpha, beta, c10);
      store(C, c + 1, alpha, beta, c11);
      store(C, c + 2, alpha, beta, c12);
      store(C, c + 3, alpha, beta, c13);
      c += ldc;
      store(C, c, alpha, beta, c20);
      store(C, c + 1, alpha, beta, c21);
      store(C, c + 2, alpha, beta, c22);
      store(C, c + 3, alpha, beta, c23);
      c += ldc;
      store(C, c, alpha, beta, c30);
      store(C, c + 1, alpha, beta, c31);
      store(C, c + 2, alpha, beta, c32);
      store(C, c + 3, alpha, beta, c33);
    }
  }
  gemmXNEdges(M, N, K, M4, N4, alpha, A, offA, lda, 1, B, offB, ldb, beta, C, offC, ldc);
}

function gemmTN(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  offA: number,
  lda: number,
  B: Float32Array,
  offB: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  offC: number,
  ldc: number,
): void {
  // Aᵀ·B: for each k both operands give 4 contiguous values (rows k of A and B).
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let ak = offA + i;
      let bk = offB + j;
      for (let k = 0; k < K; k++) {
        const x0 = A[ak],
          x1 = A[ak + 1],
          x2 = A[ak + 2],
          x3 = A[ak + 3];
        const y0 = B[bk],
          y1 = B[bk + 1],
          y2 = B[bk + 2],
          y3 = B[bk + 3];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
        ak += lda;
        bk += ldb;
      }
      let c = offC + i * ldc + j;
      store(C, c, alpha, beta, c00);
      store(C, c + 1, alpha, beta, c01);
      store(C, c + 2, alpha, beta, c02);
      store(C, c + 3, alpha, beta, c03);
      c += ldc;
      store(C, c, alpha, beta, c10);
      store(C, c + 1, alpha, beta, c11);
      store(C, c + 2, alpha, beta, c12);
      store(C, c + 3, alpha, beta, c13);
      c += ldc;
      store(C, c, alpha, beta, c20);
      store(C, c + 1, alpha, beta, c21);
      store(C, c + 2, alpha, beta, c22);
      store(C, c + 3, alpha, beta, c23);
      c += ldc;
      store(C, c, alpha, beta, c30);
      store(C, c + 1, alpha, beta, c31);
      store(C, c + 2, alpha, beta, c32);
      store(C, c + 3, alpha, beta, c33);
    }
  }
  gemmXNEdges(M, N, K, M4, N4, alpha, A, offA, 1, lda, B, offB, ldb, beta, C, offC, ldc);
}

/** Rare case (unused by the model): plain triple loop. */
function gemmTT(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  offA: number,
  lda: number,
  B: Float32Array,
  offB: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  offC: number,
  ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[offA + k * lda + i] * B[offB + j * ldb + k];
      store(C, offC + i * ldc + j, alpha, beta, acc);
    }
  }
}

const GELU_S = Math.sqrt(2 / Math.PI);

/** Fast tanh for GELU: exp-based, exact to float32 rounding for the ranges we see; saturates for |u| > 15. */
function tanhFast(u: number): number {
  if (u > 15) return 1;
  if (u < -15) return -1;
  const e = Math.exp(2 * u);
  return (e - 1) / (e + 1);
}

/** y = gelu_tanh(x) over n elements starting at offset 0 of both arrays. */
export function geluForward(x: Float32Array, y: Float32Array, n: number): void {
  const nat = nativeOp('geluForward');
  if (nat) {
    nat(x, y, n);
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + tanhFast(GELU_S * (v + 0.044715 * v * v * v)));
  }
}

/** dx += gelu_tanh'(x)·dy (accumulates). */
export function geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void {
  const nat = nativeOp('geluBackward');
  if (nat) {
    nat(x, dy, dx, n);
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const v3 = v * v * v;
    const t = tanhFast(GELU_S * (v + 0.044715 * v3));
    const sech2 = 1 - t * t;
    const grad = 0.5 * (1 + t) + 0.5 * v * sech2 * GELU_S * (1 + 3 * 0.044715 * v * v);
    dx[i] += grad * dy[i];
  }
}

/** Row-wise layer norm: out = (x−mean)·rstd·w + b; writes mean and rstd per row. */
export function layerNormForward(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  out: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): void {
  const nat = nativeOp('layerNormForward');
  if (nat) {
    nat(x, w, b, out, mean, rstd, rows, cols, eps);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[o + c];
    const m = s / cols;
    let v = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[o + c] - m;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / cols + eps);
    for (let c = 0; c < cols; c++) out[o + c] = (x[o + c] - m) * rs * w[c] + b[c];
    mean[r] = m;
    rstd[r] = rs;
  }
}

/** Layer-norm backward; dx, dw, db accumulate. */
export function layerNormBackward(
  dout: Float32Array,
  x: Float32Array,
  w: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
  db: Float32Array,
  rows: number,
  cols: number,
): void {
  const nat = nativeOp('layerNormBackward');
  if (nat) {
    nat(dout, x, w, mean, rstd, dx, dw, db, rows, cols);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const m = mean[r];
    const rs = rstd[r];
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let c = 0; c < cols; c++) {
      const norm = (x[o + c] - m) * rs;
      const dn = w[c] * dout[o + c];
      dnormMean += dn;
      dnormNormMean += dn * norm;
    }
    dnormMean /= cols;
    dnormNormMean /= cols;
    for (let c = 0; c < cols; c++) {
      const norm = (x[o + c] - m) * rs;
      const g = dout[o + c];
      db[c] += g;
      dw[c] += norm * g;
      dx[o + c] += (w[c] * g - dnormMean - norm * dnormNormMean) * rs;
    }
  }
}

/**
 * AdamW over n parameters (decoupled weight decay, bias-corrected moments, t ≥ 1), matching
 * torch.optim.AdamW: p −= lr·wd·p, then p −= lr·m̂/(√v̂ + eps).
 */
export function adamw(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  t: number,
): void {
  const nat = nativeOp('adamw');
  if (nat) {
    nat(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, t);
    return;
  }
  const bc1 = 1 - Math.pow(beta1, t);
  const bc2 = 1 - Math.pow(beta2, t);
  const ob1 = 1 - beta1;
  const ob2 = 1 - beta2;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const mi = beta1 * m[i] + ob1 * g;
    const vi = beta2 * v[i] + ob2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= lr * (mi / bc1 / (Math.sqrt(vi / bc2) + eps) + weightDecay * param[i]);
  }
}

/**
 * In-place softmax of x[off .. off+n) (numerically stable); returns log(Σexp) so callers can form
 * log-probabilities without a second pass.
 */
export function softmaxInPlace(x: Float32Array, off: number, n: number): number {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (x[off + i] > mx) mx = x[off + i];
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(x[off + i] - mx);
    x[off + i] = e;
    s += e;
  }
  const inv = 1 / s;
  for (let i = 0; i < n; i++) x[off + i] *= inv;
  return mx + Math.log(s);
}

/**
 * Causal softmax in place over `blocks` consecutive T×T row-major blocks of att (from offset 0): row t
 * of each block becomes softmax(row[0..t]) and row[t+1..T) is zeroed. Native kernel when available.
 */
export function softmaxCausal(att: Float32Array, T: number, blocks: number): void {
  const nat = nativeOp('softmaxCausal');
  if (nat) {
    nat(att, T, blocks);
    return;
  }
  for (let b = 0; b < blocks; b++) {
    for (let t = 0; t < T; t++) {
      const ro = (b * T + t) * T;
      softmaxInPlace(att, ro, t + 1);
      for (let j = t + 1; j < T; j++) att[ro + j] = 0;
    }
  }
}

/** y[i] += x[i] for i < n (residual adds). */
export function addInPlace(y: Float32Array, x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) y[i] += x[i];
}

/** out[r, c] += bias[c] for each row. */
export function addBiasRows(out: Float32Array, bias: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[o + c] += bias[c];
  }
}

let onesCache = new Float32Array(0);

/** A vector of at least n ones (shared; never written). */
function ones(n: number): Float32Array {
  if (onesCache.length < n) onesCache = new Float32Array(n).fill(1);
  return onesCache;
}

/**
 * db[c] += Σ_r dout[r, c]. Native: one GEMV (db += 1ᵀ·dout) on the BLAS threads, which reads dout
 * once row by row; the TS loop below is the same sum in float32 row order.
 */
export function biasBackward(dout: Float32Array, db: Float32Array, rows: number, cols: number): void {
  const nat = nativeOp('sgemm');
  if (nat && rows > 0) {
    nat(false, false, 1, cols, rows, 1, ones(rows), 0, rows, dout, 0, cols, 1, db, 0, cols);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) db[c] += dout[o + c];
  }
}

/** Σ x[i]² in float64 (for global gradient norms). */
export function sumSquares(x: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

/** x[i] *= a. */
export function scaleInPlace(x: Float32Array, n: number, a: number): void {
  for (let i = 0; i < n; i++) x[i] *= a;
}

/**
 * Sets the native BLAS thread count (no-op on the TS path). Measured on the 2-core box: one thread
 * is as fast as two for the ≈1M-param models and degrades less when the machine is shared.
 */
export function setKernelThreads(n: number): void {
  native()?.setThreads(n);
}

/**
 * Picks the BLAS thread count for a model unless GSHF_THREADS is set: one thread below 5M parameters
 * (as fast as two on the 2-core box and far better when the machine is shared), two above.
 */
export function autoKernelThreads(numParams: number): void {
  if (process.env.GSHF_THREADS) return;
  setKernelThreads(numParams < 5_000_000 ? 1 : 2);
}
