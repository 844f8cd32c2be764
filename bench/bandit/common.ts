/**
 * Shared pieces of the bandit-lab benchmark (bench/bandit/): size grid, data directory, raw binary
 * I/O (little-endian float64 / int32, described by a small JSON manifest that numpy also reads),
 * and the timing rule used on both sides.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repo root: this file is <root>/bench/bandit/common.ts or, compiled, <root>/dist/bench/bandit/common.js. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'gshf') return dir;
    } catch {
      // not the root yet
    }
    dir = dirname(dir);
  }
  throw new Error('bench/bandit: cannot find the gshf repo root');
}

export const ROOT = repoRoot();
/** All outputs live under bench/out/ (git-ignored); this benchmark owns bench/out/bandit.*. */
export const OUT_DIR = resolve(process.env.BANDIT_BENCH_OUT ?? join(ROOT, 'bench', 'out'));
export const DATA_DIR = join(OUT_DIR, 'bandit.data');
export const MANIFEST = join(DATA_DIR, 'manifest.json');

/** Grid. `BANDIT_BENCH_QUICK=1` shrinks it for a smoke test. */
export interface Grid {
  fit: {
    d: number[];
    n: number[];
    skip: Array<[number, number]>;
    nContexts: number;
    K: number;
    normB: number;
    lambda: number;
    tol: number;
  };
  evaluate: { d: number[]; C: number[]; K: number; normB: number; eta: number; refTemperature: number };
  seed: string;
}

export function grid(): Grid {
  const quick = process.env.BANDIT_BENCH_QUICK === '1';
  return {
    fit: {
      d: [4, 8, 32, 128],
      n: quick ? [1000, 10000] : [1000, 10000, 100000, 1000000],
      skip: [],
      nContexts: 1000,
      K: 16,
      normB: 3,
      lambda: 1,
      // Stop when ‖∇L‖₂ ≤ tol·max(1, n) — fitMLE's rule; the numpy side uses the same test.
      tol: 1e-8,
    },
    evaluate: {
      d: [8, 32, 128],
      C: quick ? [100, 1000] : [100, 1000, 10000],
      K: 64,
      normB: 3,
      eta: 1,
      refTemperature: 1,
    },
    seed: 'bench-bandit-v1',
  };
}

export interface ArrayEntry {
  file: string;
  dtype: 'float64' | 'int32';
  shape: number[];
}

export interface FitSet {
  d: number;
  nContexts: number;
  K: number;
  eta: number;
  lambda: number;
  tol: number;
  /** Sizes benchmarked on this data: the first n pairs of the files. */
  n: number[];
  arrays: Record<
    'features' | 'refLogprobs' | 'weights' | 'thetaStar' | 'context' | 'chosen' | 'rejected',
    ArrayEntry
  >;
}

export interface EvalSet {
  d: number;
  C: number;
  K: number;
  eta: number;
  arrays: Record<'features' | 'refLogprobs' | 'weights' | 'thetaStar' | 'thetaHat', ArrayEntry>;
}

export interface Manifest {
  generator: string;
  seed: string;
  endianness: 'little';
  layout: string;
  fit: FitSet[];
  evaluate: EvalSet[];
}

export function ensureDir(p: string): void {
  mkdirSync(p, { recursive: true });
}

export function writeArray(name: string, a: Float64Array | Int32Array, shape: number[]): ArrayEntry {
  ensureDir(DATA_DIR);
  // Typed arrays are host-endian; x86-64 (and every Node target we run on) is little-endian.
  writeFileSync(join(DATA_DIR, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return { file: name, dtype: a instanceof Float64Array ? 'float64' : 'int32', shape };
}

export function readF64(e: ArrayEntry): Float64Array {
  if (e.dtype !== 'float64') throw new Error(`${e.file}: expected float64, manifest says ${e.dtype}`);
  return new Float64Array(readAligned(e, 8));
}

export function readI32(e: ArrayEntry): Int32Array {
  if (e.dtype !== 'int32') throw new Error(`${e.file}: expected int32, manifest says ${e.dtype}`);
  return new Int32Array(readAligned(e, 4));
}

function readAligned(e: ArrayEntry, bytes: number): ArrayBuffer {
  const buf = readFileSync(join(DATA_DIR, e.file));
  const count = e.shape.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== count * bytes)
    throw new Error(`${e.file}: ${buf.byteLength} bytes, shape ${e.shape.join('×')} needs ${count * bytes}`);
  // Copy into a fresh, aligned ArrayBuffer (readFileSync may hand back a pooled, unaligned view).
  const ab = new ArrayBuffer(buf.byteLength);
  new Uint8Array(ab).set(buf);
  return ab;
}

export function readManifest(): Manifest {
  return JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Timing {
  /** Median wall time of the timed runs, milliseconds. */
  ms: number;
  /** Fastest timed run (less sensitive to other processes on a shared machine). */
  min_ms: number;
  runs_ms: number[];
  warmup: number;
}

/**
 * The timing rule (identical in bench_numpy.py): 1 warm-up call, then at least MIN_REPS timed calls,
 * continuing up to MAX_REPS while the timed total is below TARGET_S; report the median.
 */
export const MIN_REPS = 5;
export const MAX_REPS = 30;
export const TARGET_S = 0.5;

/**
 * Per-case budget (both sides): before timing size n, the previous size's median × (n/n_prev) ×
 * (1 warm-up + MIN_REPS) × 2 (incl/excl) is the projected cost; above BANDIT_CASE_BUDGET_S (default 120 s)
 * the case is skipped and reported as such (on this shared 2-core machine, 2-thread OpenBLAS under
 * load can be 100× slower than usual).
 */
export const CASE_BUDGET_S = Number(process.env.BANDIT_CASE_BUDGET_S ?? 120);
export function projectedSeconds(prevMedianMs: number, prevN: number, n: number): number {
  return (prevMedianMs * (n / prevN) * (1 + MIN_REPS) * 2) / 1e3;
}

export function timeIt<T>(fn: () => T): { timing: Timing; last: T } {
  let last = fn();
  const runs: number[] = [];
  let total = 0;
  while (runs.length < MIN_REPS || (runs.length < MAX_REPS && total < TARGET_S * 1e3)) {
    const t0 = process.hrtime.bigint();
    last = fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    runs.push(ms);
    total += ms;
  }
  return { timing: { ms: median(runs), min_ms: Math.min(...runs), runs_ms: runs, warmup: 1 }, last };
}
