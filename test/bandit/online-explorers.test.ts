import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { addOuterProducts, cholesky, inverseSPD, scaledIdentity } from '../../src/math/linalg.js';
import type { BanditEnv } from '../../src/bandit/env.js';
import { generateEnv } from '../../src/bandit/generate.js';
import { PreferenceOracle } from '../../src/bandit/oracle.js';
import { gapMetric, gibbs, rewardsOf } from '../../src/bandit/policy.js';
import { Uncertainty } from '../../src/bandit/uncertainty.js';
import { prepareEnhancer } from '../../src/bandit/algorithms/enhancers.js';
import {
  drawGaussianFromPrecision,
  epsilonMixture,
  optimisticRewards,
} from '../../src/bandit/algorithms/explorers.js';
import { online } from '../../src/bandit/algorithms/online.js';
import { emptyPairs } from '../../src/bandit/env.js';

function handEnv(rows: number[][], logp?: number[]): BanditEnv {
  const K = rows.length;
  return {
    name: 'hand',
    eta: 1,
    d: rows[0].length,
    nContexts: 1,
    offsets: Int32Array.from([0, K]),
    features: Float64Array.from(rows.flat()),
    refLogprobs: Float64Array.from(logp ?? rows.map(() => -Math.log(K))),
    weights: Float64Array.from([1]),
    thetaStar: null,
  };
}

test('Thompson draws θ̃ = θ̂ + ν·L⁻ᵀz match N(θ̂, ν²Σ⁻¹) in mean and covariance (5-SE bounds, 200k draws)', () => {
  const d = 3;
  const rng = new Rng(17);
  const X = new Float64Array(5 * d);
  for (let i = 0; i < X.length; i++) X[i] = rng.normal();
  const sigma = scaledIdentity(d, 0.5);
  addOuterProducts(5, d, X, null, sigma);
  const L = cholesky(sigma, d);
  const mean = Float64Array.from([0.3, -1.2, 2]);
  const nu = 0.7;
  const cov = inverseSPD(sigma, d).map((v) => nu * nu * v);
  const n = 200_000;
  const s1 = new Float64Array(d);
  const s2 = new Float64Array(d * d);
  const out = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    drawGaussianFromPrecision(L, d, mean, nu, rng, out);
    for (let i = 0; i < d; i++) {
      s1[i] += out[i];
      for (let j = 0; j < d; j++) s2[i * d + j] += (out[i] - mean[i]) * (out[j] - mean[j]);
    }
  }
  for (let i = 0; i < d; i++) {
    const se = Math.sqrt(cov[i * d + i] / n);
    assert.ok(Math.abs(s1[i] / n - mean[i]) < 5 * se, `mean[${i}]: ${s1[i] / n} vs ${mean[i]} (SE ${se})`);
    for (let j = 0; j < d; j++) {
      // Var of the (i,j) sample second moment around the true mean: (σii·σjj + σij²)/n.
      const sej = Math.sqrt((cov[i * d + i] * cov[j * d + j] + cov[i * d + j] ** 2) / n);
      const got = s2[i * d + j] / n;
      assert.ok(Math.abs(got - cov[i * d + j]) < 5 * sej, `cov[${i},${j}]: ${got} vs ${cov[i * d + j]}`);
    }
  }
});

test('optimism: r⁺ = r + β·‖φ − φ(x,π1)‖_{Σ⁻¹} at a hand-computed point, and π2 = Gibbs(π0, r⁺/η)', () => {
  const env = handEnv([
    [1, 0],
    [0, 1],
  ]);
  const sigma = Float64Array.from([1, 0, 0, 4]);
  const main = Float64Array.from([Math.log(0.5), Math.log(0.5)]);
  const r = Float64Array.from([0.2, -0.1]);
  const rp = optimisticRewards(env, r, main, new Uncertainty(sigma, 2), 2);
  // φ − φ̄ = (±½, ∓½): ‖·‖²_{Σ⁻¹} = ¼ + ¼/4 = 0.3125 for both actions.
  assert.ok(Math.abs(rp[0] - (0.2 + 2 * Math.sqrt(0.3125))) < 1e-14);
  assert.ok(Math.abs(rp[1] - (-0.1 + 2 * Math.sqrt(0.3125))) < 1e-14);
  const enh = prepareEnhancer('optimism', { env, mainLogp: main, rewards: r, sigma, beta: 2, n: 2 });
  const g = gibbs(env, rp);
  for (let a = 0; a < 2; a++) assert.ok(Math.abs((enh.policy as Float64Array)[a] - g[a]) < 1e-14);
  assert.ok(enh.diagnostics.enhancerGamma > 0);
});

test('ε-greedy: π2 = (1 − ε)·π1 + ε/K exactly, and the pair frequencies follow π1 × π2', () => {
  const env = handEnv([[1], [0], [-1], [0.5]]);
  const p1 = [0.7, 0.1, 0.15, 0.05];
  const main = Float64Array.from(p1.map(Math.log));
  const m = epsilonMixture(env, main, 0.2);
  for (let a = 0; a < 4; a++) assert.ok(Math.abs(Math.exp(m[a]) - (0.8 * p1[a] + 0.05)) < 1e-15);
  assert.deepEqual(Array.from(epsilonMixture(env, main, 0)), Array.from(main));
  const enh = prepareEnhancer('epsilon-greedy', {
    env,
    mainLogp: main,
    rewards: new Float64Array(4),
    sigma: scaledIdentity(1, 1),
    beta: 1,
    n: 2,
    epsilon: 0.2,
  });
  const rng = new Rng(4);
  const counts = new Float64Array(4);
  const out = new Int32Array(2);
  const N = 100_000;
  for (let t = 0; t < N; t++) {
    enh.propose(0, rng, out);
    counts[out[1]]++;
  }
  for (let a = 0; a < 4; a++) {
    const p = 0.8 * p1[a] + 0.05;
    assert.ok(Math.abs(counts[a] / N - p) < 5 * Math.sqrt((p * (1 - p)) / N), `a2 = ${a}`);
  }
  assert.throws(() => epsilonMixture(env, main, 1.5), /epsilon must be in \[0, 1\]/);
});

test("thompson: a2's frequencies match the posterior mixture E_θ̃[Gibbs(π0, r_θ̃/η)] (independent Monte Carlo)", () => {
  const env = handEnv(
    [
      [1, 0],
      [0, 1],
      [-0.5, 0.5],
    ],
    [Math.log(0.5), Math.log(0.3), Math.log(0.2)],
  );
  const sigma = Float64Array.from([2, 0.5, 0.5, 1.5]);
  const theta = Float64Array.from([0.4, -0.3]);
  const beta = 1.3;
  const main = gibbs(env, rewardsOf(env, theta));
  const enh = prepareEnhancer('thompson', {
    env,
    mainLogp: main,
    rewards: rewardsOf(env, theta),
    sigma,
    beta,
    n: 2,
    theta,
  });
  const N = 100_000;
  const counts = new Float64Array(3);
  const rng = new Rng(8);
  const out = new Int32Array(2);
  for (let t = 0; t < N; t++) {
    enh.propose(0, rng, out);
    counts[out[1]]++;
  }
  // Reference: average the exact Gibbs probabilities over independent posterior draws.
  const L = cholesky(sigma, 2);
  const ref = new Float64Array(3);
  const r2 = new Rng(99);
  const M = 100_000;
  for (let t = 0; t < M; t++) {
    const th = drawGaussianFromPrecision(L, 2, theta, beta, r2);
    const g = gibbs(env, rewardsOf(env, th));
    for (let a = 0; a < 3; a++) ref[a] += Math.exp(g[a]) / M;
  }
  for (let a = 0; a < 3; a++) {
    const p = ref[a];
    const tol = 5 * Math.sqrt((2 * p * (1 - p)) / N);
    assert.ok(Math.abs(counts[a] / N - p) < tol, `a2 = ${a}: ${counts[a] / N} vs ${p}`);
    // The mixture is not the posterior-mean Gibbs policy: it is flatter.
  }
  assert.ok(Math.abs(ref[0] - Math.exp(main[0])) > 0.005, 'posterior mixture differs from Gibbs(θ̂)');
  assert.throws(
    () =>
      prepareEnhancer('thompson', { env, mainLogp: main, rewards: rewardsOf(env, theta), sigma, beta, n: 2 }),
    /must pass θ̂/,
  );
});

test('every explorer inside the online loop: exact label counts, no shortfall, the gap falls below π0’s', () => {
  const env = generateEnv({ d: 4, K: 8, nContexts: 30, normB: 3, refTemperature: 1, eta: 0.5, seed: 2 });
  const gap0 = gapMetric(env, env.refLogprobs).gap;
  for (const enhancer of ['thompson', 'optimism', 'epsilon-greedy'] as const) {
    const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, new Rng(`${enhancer}:o`));
    const res = online.run(
      { env, offline: emptyPairs(), oracle, rng: new Rng(`${enhancer}:a`) },
      { enhancer, T: 4, onlineBudget: 800, validationQueries: 50, epsilon: 0.3 },
    );
    assert.equal(res.labelsUsed, 800, enhancer);
    assert.equal(res.diagnostics?.shortfall, 0, enhancer);
    assert.equal(oracle.queries, 800 + 5 * 50, enhancer);
    const gap = gapMetric(env, res.policy).gap;
    assert.ok(gap < 0.5 * gap0, `${enhancer}: gap ${gap} vs π0 ${gap0}`);
  }
  assert.throws(
    () => online.run({ env, offline: emptyPairs(), oracle: null, rng: new Rng(1) }, { epsilon: 2 }),
    /epsilon must be in \[0, 1\]/,
  );
});
