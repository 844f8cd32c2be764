import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import type { BanditEnv, PairData } from '../../src/bandit/env.js';
import { emptyPairs } from '../../src/bandit/env.js';
import { behaviourPolicy, generateEnv } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { gapMetric } from '../../src/bandit/policy.js';
import type { EnhancerName } from '../../src/bandit/algorithms/enhancers.js';
import { hybrid, online, type Selection } from '../../src/bandit/algorithms/online.js';

function env(seed: number): BanditEnv {
  return generateEnv({ d: 4, K: 10, nContexts: 40, normB: 2, refTemperature: 1, eta: 0.5, seed });
}

function gap(
  e: BanditEnv,
  seed: number,
  budget: number,
  enhancer: EnhancerName,
  selection: Selection,
  offline: PairData | null,
): number {
  const oracle = new PreferenceOracle(e, e.thetaStar as Float64Array, new Rng(`o${seed}`));
  const alg = offline === null ? online : hybrid;
  const res = alg.run(
    { env: e, offline: offline ?? emptyPairs(), oracle, rng: new Rng(`a${seed}`) },
    { T: 4, onlineBudget: budget, enhancer, selection },
  );
  return gapMetric(e, res.policy).gap;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test("more labels, smaller gap: every seed with selection 'last' (4000 vs 200 online labels)", () => {
  for (const enhancer of ['symmetric', 'best-worst', 'uncertainty', 'pi0', 'uncertainty-pair'] as const) {
    for (const seed of [1, 2, 3]) {
      const e = env(seed);
      const g200 = gap(e, seed, 200, enhancer, 'last', null);
      const g4000 = gap(e, seed, 4000, enhancer, 'last', null);
      assert.ok(g4000 < g200, `${enhancer} seed ${seed}: gap ${g4000} at 4000 labels vs ${g200} at 200`);
      assert.ok(g4000 < 0.02, `${enhancer} seed ${seed}: gap at 4000 labels is ${g4000}`);
    }
  }
});

test('more labels, smaller gap with validation selection (mean over seeds; single seeds can pick an early candidate)', () => {
  // With 200 validation queries per candidate the win-rate noise (±0.03) is larger than the win-rate
  // differences between late candidates, so one seed can select π_2 over π_5; the mean is robust.
  for (const enhancer of ['symmetric', 'uncertainty'] as const) {
    const g200: number[] = [];
    const g4000: number[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const e = env(seed);
      g200.push(gap(e, seed, 200, enhancer, 'validation', null));
      g4000.push(gap(e, seed, 4000, enhancer, 'validation', null));
    }
    assert.ok(
      mean(g4000) < 0.5 * mean(g200),
      `${enhancer}: mean gap ${mean(g4000)} at 4000 vs ${mean(g200)} at 200`,
    );
  }
});

test('hybrid with a good-coverage offline set (1000 pairs) beats online at the same online budget (mean over 6 seeds)', () => {
  // Per seed this is not robust at 200 online labels (about 1 seed in 8 ties or flips), so only the
  // mean is asserted.
  for (const enhancer of ['symmetric', 'uncertainty'] as const) {
    const on: number[] = [];
    const hy: number[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const e = env(seed);
      const beh = behaviourPolicy(e, 'good');
      const off = samplePairs(
        e,
        beh,
        beh,
        1000,
        new PreferenceOracle(e, e.thetaStar as Float64Array, new Rng(`off${seed}`)),
        new Rng(`offr${seed}`),
      );
      on.push(gap(e, seed, 200, enhancer, 'last', null));
      hy.push(gap(e, seed, 200, enhancer, 'last', off));
    }
    assert.ok(mean(hy) < mean(on), `${enhancer}: hybrid mean gap ${mean(hy)} vs online ${mean(on)}`);
  }
});
