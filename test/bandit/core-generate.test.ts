import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateEnv } from '../../src/bandit/env.js';
import {
  COVERAGE_FLOOR,
  behaviourPolicy,
  generateEnv,
  sampleActions,
  sampleContext,
  type Coverage,
} from '../../src/bandit/generate.js';
import { expectedFeatures, optimalPolicy, rewardsOf } from '../../src/bandit/policy.js';
import { Uncertainty, expectedPairCovariance } from '../../src/bandit/uncertainty.js';
import { symmetricEigenvalues } from '../../src/math/linalg.js';
import { Rng } from '../../src/math/rng.js';

const opts = { d: 8, K: 10, nContexts: 200, normB: 3, refTemperature: 1, eta: 0.5, seed: 1 };

test('generateEnv: shapes, unit features, ‖θ*‖ = B, normalised π0, determinism', () => {
  const env = generateEnv(opts);
  validateEnv(env);
  assert.equal(env.features.length, 200 * 10 * 8);
  assert.equal(env.offsets[200], 2000);
  for (let a = 0; a < 2000; a++) {
    let s = 0;
    for (let j = 0; j < 8; j++) s += env.features[a * 8 + j] ** 2;
    assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-12);
  }
  let t = 0;
  for (const v of env.thetaStar!) t += v * v;
  assert.ok(Math.abs(Math.sqrt(t) - 3) < 1e-12);
  const again = generateEnv(opts);
  assert.deepEqual(Array.from(again.features), Array.from(env.features));
  assert.deepEqual(Array.from(again.refLogprobs), Array.from(env.refLogprobs));
  const other = generateEnv({ ...opts, seed: 2 });
  assert.notDeepEqual(Array.from(other.features.subarray(0, 8)), Array.from(env.features.subarray(0, 8)));
  // normB only rescales θ*: same features and direction.
  const b1 = generateEnv({ ...opts, normB: 1 });
  assert.deepEqual(Array.from(b1.features), Array.from(env.features));
  for (let j = 0; j < 8; j++) assert.ok(Math.abs(b1.thetaStar![j] * 3 - env.thetaStar![j]) < 1e-12);
  // A lower reference temperature makes π0 more peaked.
  const cold = generateEnv({ ...opts, refTemperature: 0.1 });
  const maxP = (lp: Float64Array) => Math.exp(Math.max(...lp.subarray(0, 10)));
  assert.ok(maxP(cold.refLogprobs) > maxP(env.refLogprobs));
  assert.throws(() => generateEnv({ ...opts, K: 0 }), /K must be a positive integer/);
  assert.throws(() => generateEnv({ ...opts, eta: 0 }), /eta/);
});

test('behaviour policies are normalised and follow their documented definitions', () => {
  const env = generateEnv(opts);
  const r = rewardsOf(env, env.thetaStar!);
  for (const cov of ['good', 'poor', 'adversarial'] as Coverage[]) {
    const mu = behaviourPolicy(env, cov);
    for (let c = 0; c < env.nContexts; c++) {
      let s = 0;
      for (let a = c * 10; a < c * 10 + 10; a++) s += Math.exp(mu[a]);
      assert.ok(Math.abs(s - 1) < 1e-12, `${cov} context ${c} sums to ${s}`);
    }
  }
  const good = behaviourPolicy(env, 'good');
  for (let a = 0; a < 2000; a++) assert.ok(Math.exp(good[a]) >= 0.5 / 10 - 1e-15);
  const adv = behaviourPolicy(env, 'adversarial');
  const poor = behaviourPolicy(env, 'poor');
  for (let c = 0; c < 5; c++) {
    const idx = Array.from({ length: 10 }, (_, a) => c * 10 + a);
    const worst2 = [...idx].sort((a, b) => r[a] - r[b]).slice(0, 2);
    for (const a of worst2) assert.ok(Math.abs(Math.exp(adv[a]) - (1 - COVERAGE_FLOOR) / 2) < 1e-12);
    const top2 = [...idx].sort((a, b) => env.refLogprobs[b] - env.refLogprobs[a]).slice(0, 2);
    for (const a of top2) assert.ok(Math.abs(Math.exp(poor[a]) - (1 - COVERAGE_FLOOR) / 2) < 1e-12);
  }
});

test('coverage genuinely differs: E_{π*} Γ and the relative uncertainty order good < poor < adversarial', () => {
  for (const seed of [1, 2]) {
    const env = generateEnv({ ...opts, seed });
    const star = optimalPolicy(env);
    const stats = (['good', 'poor', 'adversarial'] as Coverage[]).map((cov) => {
      const mu = behaviourPolicy(env, cov);
      // Σ of 1000 pairs drawn from μ × μ, in expectation.
      const S = expectedPairCovariance(env, mu, mu, 1, 1000);
      const U = new Uncertainty(S, env.d);
      const gamma = U.pointwise(env, expectedFeatures(env, mu));
      let eStar = 0;
      for (let c = 0; c < env.nContexts; c++)
        for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++)
          eStar += env.weights[c] * Math.exp(star[a]) * gamma[a];
      return { cov, eStar, rel: U.relative(env, star, mu), minEig: symmetricEigenvalues(S, env.d)[0] };
    });
    const [good, poor, adv] = stats;
    const msg = JSON.stringify(stats);
    assert.ok(good.eStar < poor.eStar && poor.eStar < adv.eStar, msg);
    assert.ok(good.rel < poor.rel && poor.rel < adv.rel, msg);
    assert.ok(good.minEig > 3 * poor.minEig && good.minEig > 3 * adv.minEig, msg);
  }
});

test('sampleActions and sampleContext follow their distributions (within 4 s.e.)', () => {
  const env = generateEnv({ ...opts, nContexts: 3, refTemperature: 0.5 });
  env.weights = Float64Array.from([0.6, 0.3, 0.1]);
  const rng = new Rng(77);
  const N = 40000;
  const cc = [0, 0, 0];
  const ac = new Array<number>(10).fill(0);
  for (let i = 0; i < N; i++) {
    cc[sampleContext(env, rng)]++;
    ac[sampleActions(env, env.refLogprobs, 1, rng)]++;
  }
  const check = (count: number, p: number, what: string) => {
    const se = Math.sqrt((p * (1 - p)) / N);
    assert.ok(Math.abs(count / N - p) < 4 * se + 1e-12, `${what}: ${count / N} vs ${p}`);
  };
  cc.forEach((k, c) => check(k, env.weights[c], `context ${c}`));
  ac.forEach((k, a) => check(k, Math.exp(env.refLogprobs[10 + a]), `action ${a}`));
});
