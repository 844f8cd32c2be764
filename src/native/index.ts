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
