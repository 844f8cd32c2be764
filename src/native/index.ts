/**
 * Optional native kernels (OpenBLAS through a small N-API addon built from `native/`).
 * Everything here is optional: the addon may be missing (no compiler, no libopenblas-dev, or
 * GSHF_NO_NATIVE=1), and every caller must keep a pure-TypeScript path.
 *
 * This file is the kernel registry. {@link NativeOps} declares every native kernel once (its
 * signature and exact semantics); callers ask {@link nativeOp} for a kernel at each call and run
 * their TypeScript loop when it returns null; {@link setBackend} is the one switch that forces the
 * TypeScript path everywhere (the LM engine and the bandit lab alike); {@link traceKernels} reports
 * which backend each kernel call site used. How to add a kernel: native/README.md.
 *
 * Layout convention for all matrix routines: row-major, explicit element offsets and leading
 * dimensions (so callers can pass strided views of one big buffer without allocating subarrays).
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  dsyrk(
    n: number,
    d: number,
    alpha: number,
    A: Float64Array,
    offA: number,
    lda: number,
    beta: number,
    C: Float64Array,
  ): void;
  /**
   * Weighted Gram matrix: C (d×d, both triangles) = alpha·Σ_{i<n} w_i·a_i a_iᵀ + beta·C, where a_i is
   * row i of A (n×d at offA, leading dimension lda) and w has length ≥ n (offset 0). Any real weights;
   * all w ≥ 0 uses dsyrk on √w-scaled row blocks, otherwise dgemm (2× flops). The lower triangle of C
   * on entry is ignored (pass a symmetric C when beta ≠ 0).
   */
  dsyrkWeighted?(
    n: number,
    d: number,
    alpha: number,
    A: Float64Array,
    offA: number,
    lda: number,
    w: Float64Array,
    beta: number,
    C: Float64Array,
  ): void;
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
  /**
   * In-place causal softmax over `blocks` consecutive T×T row-major blocks starting at offset 0
   * (e.g. the B·nHead attention-score blocks of one layer): row t of each block becomes
   * softmax(row[0..t]) and row[t+1..T) is set to 0. Scale the scores beforehand (e.g. sgemm alpha).
   */
  softmaxCausal?(att: Float32Array, T: number, blocks: number): void;
  /**
   * KV-cache decode attention for S rows (one new token each). Row r uses the query
   * q[r·qStride + h·headSize ..] (h < nHead) and attends to positions 0..lens[r]−1 of cache slot
   * slots[r], where k and v are laid out [slot][blockSize][C] with C = nHead·headSize (the new key and
   * value must already be written). Writes out[r·C + h·headSize ..] = Σ_j softmax(scale·q·k_j)·v_j.
   */
  attentionDecode?(
    q: Float32Array,
    qStride: number,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    slots: Int32Array,
    lens: Int32Array,
    S: number,
    nHead: number,
    headSize: number,
    blockSize: number,
    scale: number,
  ): void;
  /**
   * Next-token log-probs of an LM batch from its logits [B·T, V]: for t ≥ 1 with mask[b·T + t] ≠ 0,
   * lse[b·T + t − 1] = log Σ_v exp(logits[b·T + t − 1, v]) and tokLp[b·T + t] = logits[that row,
   * tokens[b·T + t]] − lse. Other entries are not written. Float32 exponentials, float64 sums.
   */
  lmLogProbs?(
    logits: Float32Array,
    tokens: Int32Array,
    mask: Float32Array,
    B: number,
    T: number,
    V: number,
    lse: Float32Array,
    tokLp: Float32Array,
  ): void;
  /**
   * Overwrites logits [B·T, V] with dL/dlogits given dlogp (dL/d log p per position): row b·T + t
   * becomes g·(onehot(tokens[b·T + t + 1]) − softmax(row)) with g = dlogp[b·T + t + 1] (0 at t = T − 1;
   * a zero row when g = 0). lse must hold the rows' log-normalisers from lmLogProbs.
   */
  lmLogitsBackward?(
    logits: Float32Array,
    lse: Float32Array,
    dlogp: Float32Array,
    tokens: Int32Array,
    B: number,
    T: number,
    V: number,
  ): void;
  /**
   * Causal self-attention of one layer for all B·nHead (batch, head) pairs: qkv is [B·T, 3C]
   * (q | k | v per row, C = nHead·headSize); writes att[(b·nHead + h)·T·T ..] = causal
   * softmax(scale·Q·Kᵀ) (zeros above the diagonal) and y [B·T, C] = att·V per head. The (b, h) tasks
   * run on the BLAS thread count of OS threads, each GEMM on one thread; row blocks skip the masked
   * upper triangle.
   */
  attentionForward?(
    qkv: Float32Array,
    att: Float32Array,
    y: Float32Array,
    B: number,
    T: number,
    nHead: number,
    headSize: number,
    scale: number,
  ): void;
  /**
   * Backward of attentionForward given dy [B·T, C]: overwrites dqkv [B·T, 3C] with dL/dq | dk | dv.
   * att must hold the forward's probabilities.
   */
  attentionBackward?(
    qkv: Float32Array,
    att: Float32Array,
    dy: Float32Array,
    dqkv: Float32Array,
    B: number,
    T: number,
    nHead: number,
    headSize: number,
    scale: number,
  ): void;
  /**
   * The ridge Bradley–Terry Newton solve of src/bandit/mle.ts in C (native/src/mle.c): minimises
   * Σ cnt·softplus(−Xθ) + neg·Xθ + (ridge/2)‖θ‖² over θ (in/out) for n×d row-major X, one fused pass
   * over X per iteration (vectorised exp/log1p; rows split over the BLAS thread count when the pass is
   * large, see setBtThreadMinWork). cnt/neg: both null (one pair per row) or both length ≥ n. Leaves
   * grad (d) and H (d×d, both triangles, ridge included) at the returned θ and in L the Cholesky factor
   * of the last factorised Hessian. info (≥ 6) receives [value, gradNorm, iterations, converged (0/1),
   * haveFactor (0/1), threads used]. Throws on a Hessian that stays indefinite with jitter (NaN data).
   */
  btNewton?(
    X: Float64Array,
    n: number,
    d: number,
    cnt: Float64Array | null,
    neg: Float64Array | null,
    ridge: number,
    theta: Float64Array,
    maxIter: number,
    gtol: number,
    grad: Float64Array,
    H: Float64Array,
    L: Float64Array,
    info: Float64Array,
  ): void;
  /**
   * Δφ of n pairs into out (n·d, row-major): out[i] = F[offsets[context[i]] + chosen[i]] −
   * F[offsets[context[i]] + rejected[i]] for d-column features F (native/src/mle.c gshf_bt_gather).
   * Returns −1, or the index of the first pair whose context or actions are out of range (out is
   * then partially written).
   */
  btGather?(
    features: Float64Array,
    offsets: Int32Array,
    context: Int32Array,
    chosen: Int32Array,
    rejected: Int32Array,
    d: number,
    n: number,
    out: Float64Array,
  ): number;
  /**
   * The fused loop of evaluateGibbsExact (src/bandit/policy.ts) in C: π̂ ∝ π0·exp(Fθ/η) per context
   * (d = theta.length), scored against the cached π* (rs = r*, lps = log π*, ps = π* per action; erS =
   * E_π* r*, klS = KL(π*‖π0) per context). out (≥ 6) receives [jHat, jStar, klRef, klStarRef,
   * klStarToHat, rewardHat]; logpOut (or null) receives log π̂. Large inputs are split over the BLAS
   * thread count. Returns −1, or the first context whose log-normaliser is not finite.
   */
  evalGibbs?(
    features: Float64Array,
    offsets: Int32Array,
    refLogprobs: Float64Array,
    weights: Float64Array,
    theta: Float64Array,
    eta: number,
    rs: Float64Array,
    lps: Float64Array,
    ps: Float64Array,
    erS: Float64Array,
    klS: Float64Array,
    logpOut: Float64Array | null,
    out: Float64Array,
  ): number;
  /**
   * The solver's vectorised kernels, element-wise for testing: out[i] = e^{x[i]} (kind 0, x ≤ 0) or
   * log1p(x[i]) (kind 1, 0 ≤ x ≤ 1) for i < n.
   */
  btVec?(kind: 0 | 1, x: Float64Array, out: Float64Array, n: number): void;
  /**
   * Tabular DPO's optimiser loop (src/bandit/algorithms/dpo.ts): `steps` full-batch steps over the pairs
   * (flat indices win[i], lose[i]; refDiff[i] = ref[win] − ref[lose]; n = win.length) of Adam
   * (β1 = 0.9, β2 = 0.999, ε = 1e-8; bias corrections c1[t], c2[t]) or GD, learning rate lr[t].
   * g, m, v: scratch as long as params (m, v zeroed). Same operations in the same order as TypeScript.
   */
  dpoTabularTrain?(
    win: Int32Array,
    lose: Int32Array,
    refDiff: Float64Array,
    eta: number,
    params: Float64Array,
    g: Float64Array,
    m: Float64Array,
    v: Float64Array,
    steps: number,
    lr: Float64Array,
    c1: Float64Array,
    c2: Float64Array,
    adam: boolean,
  ): void;
  /**
   * The bandit enhancer's tilt pass (src/bandit/algorithms/tilt-evaluator.ts): for
   * π'(a|x) ∝ π1(a|x)·e^{s·z[a]} over contexts c < nContexts (actions offsets[c]..offsets[c+1]−1),
   * mean2[j] += Σ_c weights[c] Σ_a π'(a|x_c)·features[a·d + j]; returns Σ_c weights[c]·max(0, KL_c(π'‖π1)).
   * ex (one slot per action) is scratch. Same terms in the same order as the TypeScript loop.
   */
  tiltAccumulate?(
    offsets: Int32Array,
    weights: Float64Array,
    features: Float64Array,
    logp: Float64Array,
    z: Float64Array,
    ex: Float64Array,
    nContexts: number,
    d: number,
    s: number,
    mean2: Float64Array,
  ): number;
  /** btNewton splits a pass over threads only when n·d(d+3)/2 ≥ work (default 2e6). */
  setBtThreadMinWork?(work: number): void;
  /** Number of BLAS threads. */
  setThreads(n: number): void;
  /** Free-form description of the native build (library, threads), for logs and benchmarks. */
  describe(): string;
}

/**
 * Extra members the addon built from `native/` provides on top of {@link NativeOps}.
 * Optional so that other implementations of NativeOps (e.g. test doubles) need not provide them.
 */
export interface NativeOpsExtras {
  /** Current number of BLAS threads. */
  getThreads?(): number;
  /** Which element-wise kernel variant was selected at load time: "avx2+fma" or "generic". */
  simdLevel?(): string;
  /**
   * GEMMs (sgemm and dgemm) with M·N·K below `mnk` run on one BLAS thread even when setThreads(n > 1)
   * (0 = never; the loader sets it from GSHF_GEMM_1T_BELOW, default DEFAULT_GEMM_SINGLE_THREAD_BELOW). Small GEMMs such as
   * per-(batch, head) attention products lose more to the thread hand-off than they gain.
   */
  setGemmSingleThreadBelow?(mnk: number): void;
}

let cached: NativeOps | null | undefined;
let loadError: string | null = null;
let loadedFrom: string | null = null;

const ADDON_REL = join('native', 'build', 'Release', 'gshf_native.node');

/** Candidate addon paths: GSHF_NATIVE_PATH, then native/build/Release under each ancestor of this file. */
function candidatePaths(): string[] {
  const out: string[] = [];
  const env = process.env.GSHF_NATIVE_PATH;
  if (env) out.push(resolve(env));
  // This file lives at <root>/src/native/index.ts or, compiled, at <root>/dist/src/native/index.js.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    out.push(join(dir, ADDON_REL));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

function requiredMembersPresent(m: unknown): m is NativeOps {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return ['sgemm', 'dgemm', 'dsyrk', 'setThreads', 'describe'].every((k) => typeof r[k] === 'function');
}

/** Parses GSHF_THREADS (BLAS threads); default 2. */
function threadsFromEnv(): number {
  const raw = process.env.GSHF_THREADS;
  if (raw === undefined || raw.trim() === '') return 2;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    if (!process.env.GSHF_QUIET)
      process.emitWarning(`GSHF_THREADS=${raw} is not a positive integer; using 2`);
    return 2;
  }
  return n;
}

/**
 * Default for setGemmSingleThreadBelow (M·N·K = 8,388,608: per-head attention GEMMs and batch-16 decode
 * GEMMs run on one thread, the Linear layers of a train step on all). See native/README.md.
 */
export const DEFAULT_GEMM_SINGLE_THREAD_BELOW = 1 << 23;

/** Parses GSHF_GEMM_1T_BELOW (M·N·K threshold for single-threaded GEMMs; 0 disables). */
function gemmSingleThreadBelowFromEnv(): number {
  const raw = process.env.GSHF_GEMM_1T_BELOW;
  if (raw === undefined || raw.trim() === '') return DEFAULT_GEMM_SINGLE_THREAD_BELOW;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    if (!process.env.GSHF_QUIET)
      process.emitWarning(`GSHF_GEMM_1T_BELOW=${raw} is not a non-negative integer; using the default`);
    return DEFAULT_GEMM_SINGLE_THREAD_BELOW;
  }
  return n;
}

/**
 * Loads the addon once, whatever the backend switch says: the addon object, or null when it is
 * unavailable (not built, OpenBLAS missing at run time, or GSHF_NO_NATIVE=1). BLAS threads are set
 * from GSHF_THREADS (default 2) and the single-thread GEMM cutoff from GSHF_GEMM_1T_BELOW (see
 * {@link NativeOpsExtras}). Set GSHF_NATIVE_PATH to load the addon from another place,
 * GSHF_NATIVE_SIMD=generic to force the baseline (non-AVX2) element-wise kernels.
 *
 * Library code must not call this (it would bypass {@link setBackend}): use {@link nativeOp} or
 * {@link native}. Tests and benchmarks that compare both backends in one process may.
 */
export function loadNativeAddon(): (NativeOps & NativeOpsExtras) | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.GSHF_NO_NATIVE === '1') {
    loadError = 'disabled by GSHF_NO_NATIVE=1';
    return cached;
  }
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const p of candidatePaths()) {
    if (!existsSync(p)) {
      tried.push(`${p} (missing)`);
      continue;
    }
    try {
      const m: unknown = require(p);
      if (!requiredMembersPresent(m)) {
        tried.push(`${p} (not a gshf native addon)`);
        continue;
      }
      m.setThreads(threadsFromEnv());
      const small = gemmSingleThreadBelowFromEnv();
      const withExtras = m as NativeOps & NativeOpsExtras;
      if (withExtras.setGemmSingleThreadBelow) withExtras.setGemmSingleThreadBelow(small);
      cached = m;
      loadedFrom = p;
      loadError = null;
      return cached;
    } catch (e) {
      tried.push(`${p} (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  loadError = `native addon not loaded; tried: ${tried.join('; ')}`;
  return cached;
}

// ---- the kernel registry: one backend switch for every caller ----

/** The two kernel backends: the native addon, or the pure-TypeScript loops every caller keeps. */
export type KernelBackend = 'native' | 'ts';

/** What {@link setBackend} accepts: 'auto' (native when the addon loads, the default) or a backend. */
export type KernelBackendChoice = 'auto' | KernelBackend;

/** Names of the kernels in {@link NativeOps} (everything but the thread and description controls). */
export type KernelName = Exclude<keyof NativeOps, 'setThreads' | 'describe' | 'setBtThreadMinWork'>;

/** The native implementation of kernel K, with its optionality removed. */
export type NativeKernel<K extends KernelName> = NonNullable<NativeOps[K]>;

let forcedTs = false;

/**
 * THE backend switch (the only one): 'ts' makes every caller in the library — the LM kernels of
 * src/nn, the bandit lab's solvers and evaluators, src/math's Gram products — run its TypeScript
 * path; 'auto' (the default) uses the addon when it loaded; 'native' is 'auto' that throws when the
 * addon is unavailable. GSHF_NO_NATIVE=1 is 'ts' for the whole process.
 */
export function setBackend(choice: KernelBackendChoice): void {
  if (choice === 'native' && !loadNativeAddon())
    throw new Error(`setBackend('native'): ${nativeLoadError() ?? 'the native addon is not available'}`);
  forcedTs = choice === 'ts';
}

/** The backend in effect: 'native' when the addon is loaded and {@link setBackend} did not force 'ts'. */
export function kernelBackendName(): KernelBackend {
  return !forcedTs && loadNativeAddon() ? 'native' : 'ts';
}

/**
 * Runs fn with the backend set to `choice`, then restores the previous setting (also when fn throws).
 * fn must be synchronous: the switch is process-wide, so an await inside fn would leak the setting.
 */
export function withBackend<T>(choice: KernelBackendChoice, fn: () => T): T {
  const prev = forcedTs;
  setBackend(choice);
  try {
    return fn();
  } finally {
    forcedTs = prev;
  }
}

/**
 * The addon when the backend is native, else null. For members that are not kernels (setThreads,
 * describe, getThreads); kernels go through {@link nativeOp} so that tracing sees them.
 */
export function native(): (NativeOps & NativeOpsExtras) | null {
  if (forcedTs) return null;
  return cached !== undefined ? cached : loadNativeAddon();
}

/** One dispatch decision, as reported to a {@link traceKernels} callback. */
export interface KernelDispatch {
  kernel: KernelName;
  backend: KernelBackend;
}

let tracer: ((d: KernelDispatch) => void) | null = null;

/**
 * The native kernel `name` when the backend is native and the addon provides it; null means "run
 * your TypeScript path". Every kernel call site in the library asks here, once per call, so the
 * switch and {@link traceKernels} see all of them. N-API functions ignore `this`, so the result may
 * be called unbound.
 */
export function nativeOp<K extends KernelName>(name: K): NativeKernel<K> | null {
  const m = forcedTs ? null : cached !== undefined ? cached : loadNativeAddon();
  const f = m ? (m[name] as NativeKernel<K> | undefined) : undefined;
  if (tracer) tracer({ kernel: name, backend: f ? 'native' : 'ts' });
  return f ?? null;
}

/**
 * Runs fn and returns, per kernel, how many dispatches went to each backend (a kernel whose caller
 * asked {@link nativeOp} and got null counts as 'ts'). For tests and diagnostics: shows that a
 * forced backend reaches every call site. Synchronous fn only, like {@link withBackend}.
 */
export function traceKernels(fn: () => void): Map<KernelName, Record<KernelBackend, number>> {
  const counts = new Map<KernelName, Record<KernelBackend, number>>();
  const prev = tracer;
  tracer = (d) => {
    let c = counts.get(d.kernel);
    if (!c) counts.set(d.kernel, (c = { native: 0, ts: 0 }));
    c[d.backend]++;
    prev?.(d);
  };
  try {
    fn();
  } finally {
    tracer = prev;
  }
  return counts;
}

/** Why {@link loadNativeAddon} returned null (null if it loaded or was not tried yet). */
export function nativeLoadError(): string | null {
  return loadError;
}

/** Path the addon was loaded from (null if not loaded). */
export function nativePath(): string | null {
  return loadedFrom;
}

/**
 * One line for a user who did not ask for the pure-TypeScript kernels but gets them (the addon was
 * not built or does not load), or null when the addon is loaded or GSHF_NO_NATIVE=1 chose TypeScript.
 */
export function nativeFallbackNotice(): string | null {
  if (native() !== null || process.env.GSHF_NO_NATIVE === '1') return null;
  return (
    'native addon not loaded: the pure-TypeScript kernels run (correct, slower). Build it with ' +
    '`npm rebuild gshf` (in a checkout: `bash native/build.sh`) after installing a C compiler, make, ' +
    'python3 and libopenblas-dev; GSHF_NO_NATIVE=1 silences this.'
  );
}
