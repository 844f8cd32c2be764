/**
 * gshf side of the bandit-lab benchmark: times fitMLE and the exact policy evaluation
 * (gibbsOfTheta, objective, klToRef, gapMetric) on the data written by gen.ts.
 *
 *   fit (incl. Δφ): fitMLE(env, pairs, {lambda, tol})  — builds Δφ inside (with the addon: gathered in C
 *                   into a reused buffer; otherwise featureDiffs(env, pairs)).
 *   fit (excl. Δφ): fitMLE({dphi, n, d}, {lambda, tol}) — Δφ precomputed outside the timed region.
 *   evaluate:       evaluateGibbsExact(env, θ̂) — (native loop with the addon) the fused equivalent of gibbsOfTheta + trueRewards +
 *                   objective + klToRef + gapMetric (π* cached per env, so timed calls after the
 *                   warm-up reuse it).
 *
 * Usage: node dist/bench/bandit/bench-gshf.js [--out bench/out/bandit.gshf.json] [--only fit|evaluate] [--d D] [--n N]
 *        [--mode excl] (profiling: time only fitMLE on precomputed Δφ)
 * With the addon, fitMLE runs the native Newton solver (native/src/mle.c); GSHF_NO_NATIVE=1 forces the
 * pure-TypeScript solver (and its TS Hessian, no OpenBLAS dsyrk).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, getPriority, loadavg } from 'node:os';
import type { BanditEnv, PairData } from '../../src/bandit/env.js';
import { featureDiffs } from '../../src/bandit/env.js';
import { fitMLE } from '../../src/bandit/mle.js';
import { evaluateGibbsExact } from '../../src/bandit/policy.js';
import { native, nativeLoadError, nativePath } from '../../src/native/index.js';
import {
  CASE_BUDGET_S,
  OUT_DIR,
  projectedSeconds,
  readF64,
  readI32,
  readManifest,
  timeIt,
  type EvalSet,
  type FitSet,
  type Timing,
} from './common.js';

/** src/math/linalg.ts addOuterProducts calls the native dsyrk iff n·d² ≥ this (NATIVE_SYRK_MIN_WORK, not exported). */
const NATIVE_SYRK_MIN_WORK = 1 << 16;
/** Pure-TS runs (GSHF_NO_NATIVE=1) skip fits with n·d² above this (BANDIT_TS_MAX_WORK; d=128, n=10⁶ takes minutes). */
const TS_MAX_WORK = Number(process.env.BANDIT_TS_MAX_WORK ?? 2e9);

const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const outPath = outIdx >= 0 ? args[outIdx + 1] : join(OUT_DIR, 'bandit.gshf.json');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : 'all';
const dIdx = args.indexOf('--d');
const onlyD = dIdx >= 0 ? Number(args[dIdx + 1]) : null;
/** --n N: only this n (fit) / this many contexts (evaluate); for profiling single cases. */
const nIdx = args.indexOf('--n');
const onlyN = nIdx >= 0 ? Number(args[nIdx + 1]) : null;
/** --mode incl|excl: fit only that variant (for profiling); default both plus Δφ alone. */
const modeIdx = args.indexOf('--mode');
const onlyMode = modeIdx >= 0 ? args[modeIdx + 1] : null;

function envOf(
  name: string,
  d: number,
  C: number,
  K: number,
  eta: number,
  features: Float64Array,
  refLogprobs: Float64Array,
  weights: Float64Array,
  thetaStar: Float64Array,
): BanditEnv {
  const offsets = new Int32Array(C + 1);
  for (let c = 0; c <= C; c++) offsets[c] = c * K;
  return { name, eta, d, nContexts: C, offsets, features, refLogprobs, weights, thetaStar };
}

export interface FitRow {
  d: number;
  n: number;
  incl_dphi: Timing;
  excl_dphi: Timing;
  /** featureDiffs alone (for reference). */
  dphi_only: Timing;
  theta: number[];
  iterations: number;
  gradNorm: number;
  converged: boolean;
  negLogLik: number;
  native_dsyrk: boolean;
}

export interface EvalRow {
  d: number;
  C: number;
  K: number;
  timing: Timing;
  J: number;
  klRef: number;
  gap: number;
  suboptimality: number;
  klStarToHat: number;
  jStar: number;
}

function benchFit(set: FitSet, nat: boolean): FitRow[] {
  const a = set.arrays;
  const env = envOf(
    `fit-d${set.d}`,
    set.d,
    set.nContexts,
    set.K,
    set.eta,
    readF64(a.features),
    readF64(a.refLogprobs),
    readF64(a.weights),
    readF64(a.thetaStar),
  );
  const ctx = readI32(a.context);
  const ch = readI32(a.chosen);
  const rj = readI32(a.rejected);
  const rows: FitRow[] = [];
  let prev: { n: number; ms: number } | null = null;
  for (const n of set.n) {
    if (onlyN !== null && n !== onlyN) continue;
    if (process.env.GSHF_NO_NATIVE === '1' && n * set.d * set.d > TS_MAX_WORK) {
      process.stderr.write(
        `gshf fit d=${set.d} n=${n}: skipped without the native dsyrk (n·d² > ${TS_MAX_WORK}: minutes per fit)\n`,
      );
      continue;
    }
    if (prev && projectedSeconds(prev.ms, prev.n, n) > CASE_BUDGET_S) {
      process.stderr.write(
        `gshf fit d=${set.d} n=${n}: skipped, projected ${projectedSeconds(prev.ms, prev.n, n).toFixed(0)} s > budget ${CASE_BUDGET_S} s\n`,
      );
      continue;
    }
    const pairs: PairData = {
      context: ctx.subarray(0, n),
      chosen: ch.subarray(0, n),
      rejected: rj.subarray(0, n),
    };
    const opts = { lambda: set.lambda, tol: set.tol };
    const dphi = featureDiffs(env, pairs);
    const excl = timeIt(() => fitMLE({ dphi, n, d: set.d }, opts));
    const incl = onlyMode === 'excl' ? excl : timeIt(() => fitMLE(env, pairs, opts));
    const dphiOnly = onlyMode === null ? timeIt(() => featureDiffs(env, pairs)) : excl;
    const r = excl.last;
    let maxDiff = 0;
    for (let j = 0; j < set.d; j++) maxDiff = Math.max(maxDiff, Math.abs(r.theta[j] - incl.last.theta[j]));
    if (maxDiff !== 0)
      process.stderr.write(`warning: fit d=${set.d} n=${n}: incl/excl θ differ by ${maxDiff}\n`);
    prev = { n, ms: Math.max(incl.timing.ms, excl.timing.ms) };
    rows.push({
      d: set.d,
      n,
      incl_dphi: incl.timing,
      excl_dphi: excl.timing,
      dphi_only: dphiOnly.timing,
      theta: Array.from(r.theta),
      iterations: r.iterations,
      gradNorm: r.gradNorm,
      converged: r.converged,
      negLogLik: r.negLogLik,
      native_dsyrk: nat && n * set.d * set.d >= NATIVE_SYRK_MIN_WORK,
    });
    process.stderr.write(
      `gshf fit d=${set.d} n=${n}: incl ${incl.timing.ms.toFixed(2)} ms, excl ${excl.timing.ms.toFixed(2)} ms, ${r.iterations} it, |g|=${r.gradNorm.toExponential(2)}\n`,
    );
  }
  return rows;
}

function benchEval(set: EvalSet): EvalRow {
  const a = set.arrays;
  const env = envOf(
    `eval-d${set.d}-C${set.C}`,
    set.d,
    set.C,
    set.K,
    set.eta,
    readF64(a.features),
    readF64(a.refLogprobs),
    readF64(a.weights),
    readF64(a.thetaStar),
  );
  const thetaHat = readF64(a.thetaHat);
  // Fused: π̂, J, KL(π̂‖π0) and the gap in one pass (π* is cached per env after the warm-up call).
  const { timing, last } = timeIt(() => {
    const g = evaluateGibbsExact(env, thetaHat);
    return { J: g.jHat, klRef: g.klRef, g };
  });
  process.stderr.write(`gshf eval d=${set.d} C=${set.C}: ${timing.ms.toFixed(2)} ms\n`);
  return {
    d: set.d,
    C: set.C,
    K: set.K,
    timing,
    J: last.J,
    klRef: last.klRef,
    gap: last.g.gap,
    suboptimality: last.g.suboptimality,
    klStarToHat: last.g.klStarToHat,
    jStar: last.g.jStar,
  };
}

function main(): void {
  const m = readManifest();
  const nat = native();
  const meta = {
    side: 'gshf',
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus()[0]?.model ?? 'unknown',
    threads_ts: 1,
    native_loaded: nat !== null,
    native_path: nativePath(),
    native_error: nat === null ? nativeLoadError() : null,
    native_describe: nat ? nat.describe() : null,
    native_blas_threads: nat && nat.getThreads ? nat.getThreads() : null,
    nice: getPriority(),
    loadavg_start: loadavg(),
    native_syrk_min_work: NATIVE_SYRK_MIN_WORK,
    env: {
      GSHF_NO_NATIVE: process.env.GSHF_NO_NATIVE ?? null,
      GSHF_THREADS: process.env.GSHF_THREADS ?? null,
      OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null,
      OPENBLAS_L2_SIZE: process.env.OPENBLAS_L2_SIZE ?? null,
      OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? null,
    },
  };
  const fit: FitRow[] = [];
  const evaluate: EvalRow[] = [];
  const pick = (d: number): boolean => onlyD === null || d === onlyD;
  if (only === 'all' || only === 'fit')
    for (const s of m.fit) if (pick(s.d)) fit.push(...benchFit(s, nat !== null));
  if (only === 'all' || only === 'evaluate')
    for (const s of m.evaluate)
      if (pick(s.d) && (onlyN === null || s.C === onlyN)) evaluate.push(benchEval(s));
  writeFileSync(
    outPath,
    JSON.stringify({ meta: { ...meta, loadavg_end: loadavg() }, fit, evaluate }, null, 1),
  );
  process.stderr.write(`gshf: wrote ${outPath}\n`);
}

main();
