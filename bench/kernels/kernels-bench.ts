/**
 * Kernel micro-benchmarks for the optional native addon (native/) against the pure-TypeScript kernels:
 *   - sgemm GFLOP/s at 512³ and 256×1024×256 (native with 1 and 2 BLAS threads; pure TS from src/nn/kernels.ts)
 *   - dsyrk (C = XᵀX, the bandit-MLE Hessian) at n = 10⁶, d = 32 and 128 (compare: syrk_numpy.py)
 *   - fused element-wise kernels (GELU fwd/bwd, AdamW, LayerNorm fwd/bwd): native vs the TS loops
 *     of src/nn/kernels.ts. The element-wise variant (avx2+fma or generic) is whatever the addon picked;
 *     run again with GSHF_NATIVE_SIMD=generic to time the baseline build (bench/kernels/run.sh does).
 * Usage: node dist/bench/kernels/kernels-bench.js [--quick] [--ts-syrk] [--only gemm,syrk,elementwise]
 * Prints one JSON object on stdout.
 */
import { loadNativeAddon, nativeLoadError, setBackend, type NativeOps } from '../../src/native/index.js';

type Sgemm = NativeOps['sgemm'];
/** The part of src/nn/kernels.ts used here (loaded dynamically, so this file builds without it). */
interface NnKernels {
  sgemm: Sgemm;
  geluForward(x: Float32Array, y: Float32Array, n: number): void;
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  adamw: NonNullable<NativeOps['adamw']>;
  layerNormForward: NonNullable<NativeOps['layerNormForward']>;
  layerNormBackward: NonNullable<NativeOps['layerNormBackward']>;
}

async function loadNnKernels(): Promise<NnKernels | null> {
  const url = new URL('../../src/nn/kernels.js', import.meta.url).href;
  try {
    return (await import(url)) as NnKernels;
  } catch {
    return null;
  }
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const tsSyrk = args.includes('--ts-syrk');
const onlyIdx = args.indexOf('--only');
const only = new Set(onlyIdx >= 0 ? (args[onlyIdx + 1] ?? '').split(',') : ['gemm', 'syrk', 'elementwise']);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median seconds of `reps` timed calls after `warmup` untimed ones. */
function time(fn: () => void, warmup: number, reps: number): { s: number; runs: number[] } {
  for (let i = 0; i < warmup; i++) fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { s: median(runs), runs };
}

/** Fast deterministic fill in [-1, 1) (xorshift; the values do not matter for timing). */
function fill(a: Float32Array | Float64Array, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = (s >>> 0) / 2147483648 - 1;
  }
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** src/math/linalg.ts's addOuterProducts (loaded dynamically, like the nn kernels). */
interface Linalg {
  addOuterProducts(
    n: number,
    d: number,
    X: Float64Array,
    weights: Float64Array | null,
    out: Float64Array,
  ): Float64Array;
}

async function main(): Promise<void> {
  const ops = loadNativeAddon();
  const nn = await loadNnKernels();
  let linalg: Linalg | null = null;
  try {
    linalg = (await import(new URL('../../src/math/linalg.js', import.meta.url).href)) as Linalg;
  } catch {
    linalg = null;
  }
  const out: Record<string, unknown> = {
    node: process.version,
    native: ops ? ops.describe() : null,
    nativeError: ops ? null : nativeLoadError(),
    simd: ops?.simdLevel ? ops.simdLevel() : null,
    nnKernels: nn ? 'src/nn/kernels.ts' : 'not available',
  };

  if (only.has('gemm')) {
    const gemm: Record<string, unknown> = {};
    for (const [M, K, N] of [
      [512, 512, 512],
      [256, 1024, 256],
    ] as const) {
      const A = new Float32Array(M * K),
        B = new Float32Array(N * K),
        C = new Float32Array(M * N);
      fill(A, 1);
      fill(B, 2);
      const flops = 2 * M * N * K;
      const key = `${M}x${K}x${N}`;
      const r: Record<string, number> = {};
      if (ops) {
        for (const th of [1, 2]) {
          ops.setThreads(th);
          // C = A·Bᵀ (the Linear forward form) and C = A·B
          const nt = time(
            () => ops.sgemm(false, true, M, N, K, 1, A, 0, K, B, 0, K, 0, C, 0, N),
            3,
            quick ? 5 : 20,
          );
          const nn_ = time(
            () => ops.sgemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N),
            3,
            quick ? 5 : 20,
          );
          r[`native_${th}thr_NT_gflops`] = round(flops / nt.s / 1e9, 1);
          r[`native_${th}thr_NN_gflops`] = round(flops / nn_.s / 1e9, 1);
        }
        ops.setThreads(2);
      }
      if (nn) {
        setBackend('ts');
        const nt = time(
          () => nn.sgemm(false, true, M, N, K, 1, A, 0, K, B, 0, K, 0, C, 0, N),
          1,
          quick ? 2 : 5,
        );
        const nn_ = time(
          () => nn.sgemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N),
          1,
          quick ? 2 : 5,
        );
        r.ts_NT_gflops = round(flops / nt.s / 1e9, 2);
        r.ts_NN_gflops = round(flops / nn_.s / 1e9, 2);
        setBackend('auto');
      }
      gemm[key] = r;
    }
    out.sgemm = gemm;
  }

  if (only.has('syrk') && ops) {
    const n = quick ? 200_000 : 1_000_000;
    const syrk: Record<string, unknown> = { n };
    for (const d of [32, 128]) {
      const X = new Float64Array(n * d);
      fill(X, 3);
      const H = new Float64Array(d * d);
      const flops = n * d * (d + 1);
      const r: Record<string, number> = {};
      for (const th of [1, 2]) {
        ops.setThreads(th);
        const t = time(() => ops.dsyrk(n, d, 1, X, 0, d, 0, H), 1, quick ? 2 : 5);
        r[`native_${th}thr_ms`] = round(t.s * 1e3, 1);
        r[`native_${th}thr_gflops`] = round(flops / t.s / 1e9, 1);
      }
      ops.setThreads(2);
      if (ops.dsyrkWeighted) {
        const w = new Float64Array(n);
        fill(w, 11);
        for (let i = 0; i < n; i++) w[i] = Math.abs(w[i]);
        const tw = time(() => ops.dsyrkWeighted!(n, d, 1, X, 0, d, w, 0, H), 1, quick ? 2 : 5);
        r.native_weighted_2thr_ms = round(tw.s * 1e3, 1);
        if (linalg) {
          // the bandit lab's TS wrapper (√w row scaling in TS, then dsyrk per 16384-row block)
          const tl = time(
            () => {
              H.fill(0);
              linalg.addOuterProducts(n, d, X, w, H);
            },
            1,
            quick ? 2 : 5,
          );
          r.ts_scaled_dsyrk_weighted_ms = round(tl.s * 1e3, 1);
        }
      }
      if (tsSyrk) {
        // straightforward TS: accumulate the upper triangle row by row, then mirror
        const t = time(
          () => {
            H.fill(0);
            for (let i = 0; i < n; i++) {
              const o = i * d;
              for (let a = 0; a < d; a++) {
                const xa = X[o + a];
                const ha = a * d;
                for (let b = a; b < d; b++) H[ha + b] += xa * X[o + b];
              }
            }
            for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) H[b * d + a] = H[a * d + b];
          },
          0,
          1,
        );
        r.ts_ms = round(t.s * 1e3, 1);
        r.ts_gflops = round(flops / t.s / 1e9, 2);
      }
      syrk[String(d)] = r;
    }
    out.dsyrk = syrk;
  }

  if (only.has('elementwise') && ops) {
    // sizes of the large preset's train step (B·T = 1024 rows, C = 256, MLP 4C, ≈3.3M params)
    const rows = 1024,
      C = 256,
      nGelu = rows * 4 * C,
      nParams = 3_324_928;
    const x = new Float32Array(nGelu),
      y = new Float32Array(nGelu),
      dy = new Float32Array(nGelu),
      dx = new Float32Array(nGelu);
    fill(x, 4);
    fill(dy, 5);
    const p = new Float32Array(nParams),
      g = new Float32Array(nParams),
      m = new Float32Array(nParams),
      v = new Float32Array(nParams);
    fill(p, 6);
    fill(g, 7);
    const lx = new Float32Array(rows * C),
      lw = new Float32Array(C),
      lb = new Float32Array(C),
      lo = new Float32Array(rows * C);
    const mean = new Float32Array(rows),
      rstd = new Float32Array(rows),
      ldx = new Float32Array(rows * C);
    const ldw = new Float32Array(C),
      ldb = new Float32Array(C);
    fill(lx, 8);
    fill(lw, 9);
    type K = {
      geluForward(x: Float32Array, y: Float32Array, n: number): void;
      geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
      adamw: NonNullable<NativeOps['adamw']>;
      layerNormForward: NonNullable<NativeOps['layerNormForward']>;
      layerNormBackward: NonNullable<NativeOps['layerNormBackward']>;
    };
    const run = (k: K, reps: number): Record<string, number> => {
      let t = 1;
      const us = (s: number): number => round(s * 1e6, 0);
      return {
        gelu_fwd_us: us(time(() => k.geluForward(x, y, nGelu), 2, reps).s),
        gelu_bwd_us: us(time(() => k.geluBackward(x, dy, dx, nGelu), 2, reps).s),
        adamw_us: us(time(() => k.adamw(p, g, m, v, nParams, 1e-4, 0.9, 0.95, 1e-8, 0.1, t++), 2, reps).s),
        ln_fwd_us: us(time(() => k.layerNormForward(lx, lw, lb, lo, mean, rstd, rows, C, 1e-5), 2, reps).s),
        ln_bwd_us: us(
          time(() => k.layerNormBackward(dy, lx, lw, mean, rstd, ldx, ldw, ldb, rows, C), 2, reps).s,
        ),
      };
    };
    const nk = ops as Required<NativeOps>;
    const ew: Record<string, unknown> = {
      sizes: { gelu: nGelu, adamw: nParams, layernorm: [rows, C] },
      [`native_${ops.simdLevel ? ops.simdLevel() : '?'}`]: run(nk, quick ? 5 : 30),
    };
    if (nn) {
      setBackend('ts');
      ew.ts = run(nn, quick ? 3 : 10);
      setBackend('auto');
    }
    out.elementwise = ew;
  }
  console.log(JSON.stringify(out, null, 1));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
