/**
 * Pessimism vs no pessimism under the generator's 'adversarial' coverage (data on the two
 * lowest-r* actions per context, so π* sits where the data is thinnest).
 *
 * Measured finding (kept as a test so it is re-measured on every run): on this small seeded family
 * pessimism with β = 1 does NOT robustly beat MLE-Gibbs in the gap metric. With the 5 seeds below,
 * n = 100: mean gap MLE 0.472, option I 0.401 (better on 3/5 seeds), option II 0.469; n = 1000:
 * MLE 0.037, option I 0.054, option II 0.043 (pessimism worse on 4/5 seeds). Other seed sets and
 * sizes flip the sign (10 seeds, n = 200: MLE 0.149, option I 0.214, option II 0.165). That agrees
 * with the theory's shape: the pessimistic guarantee is relative to comparators the data covers,
 * and adversarial coverage leaves π* uncovered. So we assert no ordering, only robust facts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { gapMetric } from '../../src/bandit/policy.js';
import { mleGibbs, gshfOfflineOption1, gshfOfflineOption2 } from '../../src/bandit/algorithms/offline.js';

const SEEDS = [0, 1, 2, 3, 4];

function meanGaps(n: number): { mle: number; opt1: number; opt2: number; perSeed: number[][] } {
  const perSeed: number[][] = [];
  for (const seed of SEEDS) {
    const env = generateEnv({ d: 4, K: 5, nContexts: 8, normB: 2, refTemperature: 1, eta: 0.5, seed });
    const beh = behaviourPolicy(env, 'adversarial');
    const rng = new Rng(`cov-${seed}`);
    const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('labels'));
    const pairs = samplePairs(env, beh, beh, n, oracle, rng.fork('pairs'), { dropTies: true });
    const ctx = { env, offline: pairs, oracle: null, rng: new Rng(seed) };
    perSeed.push([
      gapMetric(env, mleGibbs.run(ctx, {}).policy).gap,
      gapMetric(env, gshfOfflineOption1.run(ctx, { beta: 1 }).policy).gap,
      gapMetric(env, gshfOfflineOption2.run(ctx, { beta: 1 }).policy).gap,
    ]);
  }
  const m = (k: number): number => perSeed.reduce((s, r) => s + r[k], 0) / perSeed.length;
  return { mle: m(0), opt1: m(1), opt2: m(2), perSeed };
}

test('adversarial coverage: gaps of MLE-Gibbs and both pessimistic options, measured over seeds', () => {
  const small = meanGaps(100);
  const large = meanGaps(1000);
  if (!process.env.GSHF_QUIET) {
    console.log('n=100 ', small);
    console.log('n=1000', large);
  }
  for (const r of [small, large])
    for (const row of r.perSeed) for (const g of row) assert.ok(Number.isFinite(g) && g >= 0);
  // Robust: more data helps every method (the gaps fall several-fold from n = 100 to n = 1000).
  assert.ok(large.mle < 0.5 * small.mle);
  assert.ok(large.opt1 < 0.5 * small.opt1);
  assert.ok(large.opt2 < 0.5 * small.opt2);
  // Robust: β = 1 pessimism costs at most a bounded factor here (it does not collapse to π0).
  assert.ok(small.opt1 < 2 * small.mle && small.opt2 < 2 * small.mle);
  assert.ok(large.opt1 < 2 * large.mle && large.opt2 < 2 * large.mle);
});
