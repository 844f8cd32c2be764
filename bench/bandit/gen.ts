/**
 * Generates the benchmark data once, with the library's own generator, and writes it as raw
 * little-endian arrays plus bench/out/bandit.data/manifest.json, so that the gshf side and the
 * numpy side fit and evaluate exactly the same problems.
 *
 *  fit:      per d, one generateEnv(nContexts, K) and n_max = max(n) pairs: x ~ d0, a1, a2 ~ uniform
 *            (independently; ties kept, as samplePairs does by default), BT label from θ*. Smaller n
 *            use the first n pairs.
 *  evaluate: per (C, d), one generateEnv(C contexts, K actions) and θ̂ = θ* + noise (‖noise‖ = ‖θ*‖/3),
 *            so π̂ ≠ π* and the gap is O(0.1), far above rounding.
 *
 * Usage: node dist/bench/bandit/gen.js   (BANDIT_BENCH_QUICK=1 for a small grid)
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { Rng } from '../../src/math/rng.js';
import { generateEnv } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { uniformPolicy } from '../../src/bandit/policy.js';
import {
  DATA_DIR,
  MANIFEST,
  ensureDir,
  grid,
  writeArray,
  type EvalSet,
  type FitSet,
  type Manifest,
} from './common.js';

function main(): void {
  const g = grid();
  if (existsSync(DATA_DIR)) rmSync(DATA_DIR, { recursive: true });
  ensureDir(DATA_DIR);
  const t0 = Date.now();
  const fit: FitSet[] = [];
  const nMax = Math.max(...g.fit.n);
  for (const d of g.fit.d) {
    const env = generateEnv({
      d,
      K: g.fit.K,
      nContexts: g.fit.nContexts,
      normB: g.fit.normB,
      refTemperature: 1,
      eta: 1,
      seed: `${g.seed}/fit/d${d}`,
    });
    const rng = new Rng(`${g.seed}/fit/d${d}/pairs`);
    const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('oracle'));
    const unif = uniformPolicy(env);
    const pairs = samplePairs(env, unif, unif, nMax, oracle, rng.fork('sample'));
    const A = env.nContexts * g.fit.K;
    const p = `fit-d${d}`;
    fit.push({
      d,
      nContexts: env.nContexts,
      K: g.fit.K,
      eta: env.eta,
      lambda: g.fit.lambda,
      tol: g.fit.tol,
      n: g.fit.n.filter((n) => !g.fit.skip.some(([sd, sn]) => sd === d && sn === n)),
      arrays: {
        features: writeArray(`${p}.features.f64`, env.features, [A, d]),
        refLogprobs: writeArray(`${p}.refLogprobs.f64`, env.refLogprobs, [A]),
        weights: writeArray(`${p}.weights.f64`, env.weights, [env.nContexts]),
        thetaStar: writeArray(`${p}.thetaStar.f64`, env.thetaStar as Float64Array, [d]),
        context: writeArray(`${p}.context.i32`, pairs.context, [nMax]),
        chosen: writeArray(`${p}.chosen.i32`, pairs.chosen, [nMax]),
        rejected: writeArray(`${p}.rejected.i32`, pairs.rejected, [nMax]),
      },
    });
    process.stderr.write(
      `gen: fit d=${d} (${nMax} pairs) done at ${((Date.now() - t0) / 1e3).toFixed(1)} s\n`,
    );
  }
  const evaluate: EvalSet[] = [];
  for (const d of g.evaluate.d) {
    for (const C of g.evaluate.C) {
      const env = generateEnv({
        d,
        K: g.evaluate.K,
        nContexts: C,
        normB: g.evaluate.normB,
        refTemperature: g.evaluate.refTemperature,
        eta: g.evaluate.eta,
        seed: `${g.seed}/eval/d${d}/C${C}`,
      });
      const ts = env.thetaStar as Float64Array;
      const rng = new Rng(`${g.seed}/eval/d${d}/C${C}/thetaHat`);
      const noise = new Float64Array(d);
      let s = 0;
      for (let j = 0; j < d; j++) {
        noise[j] = rng.normal();
        s += noise[j] * noise[j];
      }
      const thetaHat = new Float64Array(d);
      for (let j = 0; j < d; j++) thetaHat[j] = ts[j] + (noise[j] * (g.evaluate.normB / 3)) / Math.sqrt(s);
      const p = `eval-d${d}-C${C}`;
      evaluate.push({
        d,
        C,
        K: g.evaluate.K,
        eta: env.eta,
        arrays: {
          features: writeArray(`${p}.features.f64`, env.features, [C, g.evaluate.K, d]),
          refLogprobs: writeArray(`${p}.refLogprobs.f64`, env.refLogprobs, [C, g.evaluate.K]),
          weights: writeArray(`${p}.weights.f64`, env.weights, [C]),
          thetaStar: writeArray(`${p}.thetaStar.f64`, ts, [d]),
          thetaHat: writeArray(`${p}.thetaHat.f64`, thetaHat, [d]),
        },
      });
    }
    process.stderr.write(`gen: evaluate d=${d} done at ${((Date.now() - t0) / 1e3).toFixed(1)} s\n`);
  }
  const manifest: Manifest = {
    generator: 'gshf src/bandit/generate.ts generateEnv + oracle.ts samplePairs (uniform behaviour policy)',
    seed: g.seed,
    endianness: 'little',
    layout:
      'row-major; fit features are (nContexts*K, d) in flat action order (context c owns rows c*K..c*K+K-1); ' +
      'pairs hold LOCAL action indices; evaluate features are (C, K, d)',
    fit,
    evaluate,
  };
  writeFileSync(MANIFEST, JSON.stringify(manifest, null, 1));
  process.stderr.write(`gen: wrote ${MANIFEST} in ${((Date.now() - t0) / 1e3).toFixed(1)} s\n`);
}

main();
