/**
 * Optional native kernels (OpenBLAS through a small N-API addon built from `native/`).
 * Everything here is optional: `native()` returns null when the addon was not built (no compiler,
 * no libopenblas-dev, or GSHF_NO_NATIVE=1), and every caller must keep a pure-TypeScript path.
 *
 * Layout convention for all matrix routines: row-major, explicit element offsets and leading
 * dimensions (so callers can pass strided views of one big buffer without allocating subarrays).
 */

export interface NativeOps {
  /** C[offC..] = alpha * op(A) * op(B) + beta * C, row-major; op(X) = Xᵀ when trans is true. M×K times K×N. */
  sgemm(
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
  ): void;
  /** Float64 twin of sgemm. */
  dgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float64Array,
    offA: number,
    lda: number,
    B: Float64Array,
    offB: number,
    ldb: number,
    beta: number,
    C: Float64Array,
    offC: number,
    ldc: number,
  ): void;
  /**
   * C (d×d, row-major, both triangles filled) = alpha * AᵀA + beta * C, where A is n×d row-major
   * starting at offA with leading dimension lda. Used for Hessians and feature covariances.
   */
  dsyrk(n: number, d: number, alpha: number, A: Float64Array, offA: number, lda: number, beta: number, C: Float64Array): void;
  // Optional fused float32 element-wise kernels for the LM engine (contiguous arrays, offset 0;
  // callers pass subarray views). Callers must check presence and fall back to TypeScript.
  /** y[i] = gelu_tanh(x[i]) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) for i < n. */
  geluForward?(x: Float32Array, y: Float32Array, n: number): void;
  /** dx[i] += gelu_tanh'(x[i]) · dy[i] for i < n (accumulates, like llm.c). */
  geluBackward?(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  /**
   * AdamW step in place over n parameters (decoupled weight decay, bias-corrected moments, step t ≥ 1):
   * m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; p −= lr·( (m/(1−b1^t)) / (√(v/(1−b2^t)) + eps) + wd·p ).
   */
  adamw?(
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
  ): void;
  /** Row-wise layer norm over rows×cols: out = (x−mean)·rstd·w + b; writes mean[rows] and rstd[rows]. */
  layerNormForward?(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /** Layer-norm backward: dx += …, dw += …, db += … (all accumulate). */
  layerNormBackward?(
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
  ): void;
  /** Number of BLAS threads. */
  setThreads(n: number): void;
  /** Free-form description of the native build (library, threads), for logs and benchmarks. */
  describe(): string;
}

let cached: NativeOps | null | undefined;

/** The native kernels, or null if they are unavailable. Loaded once. */
export function native(): NativeOps | null {
  if (cached !== undefined) return cached;
  cached = null; // filled in by the native loader (see native/README.md)
  return cached;
}
