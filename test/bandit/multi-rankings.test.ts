import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureDiffs } from '../../src/bandit/env.js';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { btNegLogLik } from '../../src/bandit/mle.js';
import { rewardsOf } from '../../src/bandit/policy.js';
import { pairCovariance } from '../../src/bandit/uncertainty.js';
import { dpoLinearLoss } from '../../src/bandit/algorithms/dpo.js';
import { sigmoid } from '../../src/math/special.js';
import { Rng } from '../../src/math/rng.js';
import {
  dpoPlackettLuceLoss,
  fitPlackettLuce,
  plExpectedInformation,
  plNegLogLik,
  rankingCovariance,
  rankingsFromLists,
  rankingsToPairs,
  sampleRankings,
} from '../../src/bandit/multi/rankings.js';
import { close, fdGradient } from './multi-helpers.js';

const env = generateEnv({ d: 3, K: 5, nContexts: 4, normB: 2, refTemperature: 1, eta: 0.5, seed: 11 });
const theta = env.thetaStar!;
const data = rankingsFromLists([
  { context: 0, items: [2, 0, 4] },
  { context: 1, items: [1, 3, 0, 2] },
  { context: 3, items: [4, 1] },
]);

test('Plackett–Luce likelihood of a 3-ranking equals the hand product of softmax choices', () => {
  const r = rewardsOf(env, theta);
  const [a, b, c] = [2, 0, 4].map((i) => r[env.offsets[0] + i]);
  const hand =
    (Math.exp(a) / (Math.exp(a) + Math.exp(b) + Math.exp(c))) * (Math.exp(b) / (Math.exp(b) + Math.exp(c)));
  const one = rankingsFromLists([{ context: 0, items: [2, 0, 4] }]);
  close(plNegLogLik(env, one, theta, 0), -Math.log(hand), 1e-13, 'NLL');
  // The 3! orderings are a probability distribution.
  let total = 0;
  for (const items of [
    [0, 2, 4],
    [0, 4, 2],
    [2, 0, 4],
    [2, 4, 0],
    [4, 0, 2],
    [4, 2, 0],
  ])
    total += Math.exp(-plNegLogLik(env, rankingsFromLists([{ context: 0, items }]), theta, 0));
  close(total, 1, 1e-13, 'Σ over orderings');
});

test('a ranking of two items is one Bradley–Terry pair (likelihood and design covariance)', () => {
  const two = rankingsFromLists([{ context: 3, items: [4, 1] }]);
  const pairs = { context: Int32Array.of(3), chosen: Int32Array.of(4), rejected: Int32Array.of(1) };
  close(
    plNegLogLik(env, two, theta, 0.3),
    btNegLogLik(featureDiffs(env, pairs), 1, 3, theta, 0.3),
    1e-13,
    'NLL',
  );
  const a = rankingCovariance(env, two, 0.5);
  const b = pairCovariance(env, pairs, 0.5);
  for (let i = 0; i < 9; i++) close(a[i], b[i], 1e-13, `Σ[${i}]`);
});

test('Plackett–Luce gradient and Hessian match central finite differences', () => {
  const x = Float64Array.of(0.3, -0.7, 1.1);
  const g = new Float64Array(3);
  const H = new Float64Array(9);
  plNegLogLik(env, data, x, 0.4, g, H);
  const fd = fdGradient((t) => plNegLogLik(env, data, t, 0.4), x);
  for (let j = 0; j < 3; j++) close(g[j], fd[j], 1e-7, `∇[${j}]`);
  for (let j = 0; j < 3; j++) {
    const fdH = fdGradient((t) => {
      const gg = new Float64Array(3);
      plNegLogLik(env, data, t, 0.4, gg);
      return gg[j];
    }, x);
    for (let i = 0; i < 3; i++) close(H[j * 3 + i], fdH[i], 1e-6, `∇²[${j},${i}]`);
  }
});

test('Fisher information: K = 2 equals σ′(Δ)ΔφΔφᵀ; K = 3 equals the expectation of the observed Hessian by hand enumeration', () => {
  const r = rewardsOf(env, theta);
  const base = env.offsets[2];
  const I2 = plExpectedInformation(env, 2, [0, 3], theta);
  const p = sigmoid(r[base] - r[base + 3]);
  const dphi = [0, 1, 2].map((j) => env.features[base * 3 + j] - env.features[(base + 3) * 3 + j]);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) close(I2[i * 3 + j], p * (1 - p) * dphi[i] * dphi[j], 1e-13, 'I2');
  const I3 = plExpectedInformation(env, 2, [0, 1, 3], theta);
  const manual = new Float64Array(9);
  for (const items of [
    [0, 1, 3],
    [0, 3, 1],
    [1, 0, 3],
    [1, 3, 0],
    [3, 0, 1],
    [3, 1, 0],
  ]) {
    const one = rankingsFromLists([{ context: 2, items }]);
    const H = new Float64Array(9);
    const nll = plNegLogLik(env, one, theta, 0, new Float64Array(3), H);
    for (let k = 0; k < 9; k++) manual[k] += Math.exp(-nll) * H[k];
  }
  for (let k = 0; k < 9; k++) close(I3[k], manual[k], 1e-13, 'I3');
});

test('DPO loss in Plackett–Luce form: gradient by finite differences, K = 2 equals the pairwise linear DPO loss', () => {
  const w = Float64Array.of(0.2, 0.5, -0.4);
  const g = new Float64Array(3);
  const loss = dpoPlackettLuceLoss(env, data, w, 0.5, 0.1, g);
  const fd = fdGradient((x) => dpoPlackettLuceLoss(env, data, x, 0.5, 0.1), w);
  for (let j = 0; j < 3; j++) close(g[j], fd[j], 1e-8, `∇[${j}]`);
  assert.ok(loss > 0);
  // It is the PL NLL at θ = η·w, divided by n, plus the ridge (the log Z terms cancel).
  close(
    loss,
    (plNegLogLik(
      env,
      data,
      w.map((v) => 0.5 * v),
      0,
    ) +
      0.5 * 0.1 * 0.25 * (0.04 + 0.25 + 0.16)) /
      3,
    1e-12,
    'PL identity',
  );
  const pairs = rankingsToPairs(rankingsFromLists([{ context: 1, items: [3, 0] }]), 'adjacent');
  close(
    dpoPlackettLuceLoss(env, rankingsFromLists([{ context: 1, items: [3, 0] }]), w, 0.5, 0.1),
    dpoLinearLoss(env, pairs, w, 0.5, 0.1),
    1e-13,
    'K = 2',
  );
});

test('PL sampling reproduces the model probabilities; the PL MLE is stationary and recovers θ*', () => {
  const rng = new Rng(7);
  const mu = behaviourPolicy(env, 'good');
  const rankings = sampleRankings(env, mu, 4000, 4, theta, rng);
  assert.equal(rankings.context.length, 4000);
  const fit = fitPlackettLuce(env, rankings, { lambda: 1e-3 });
  const g = new Float64Array(3);
  plNegLogLik(env, rankings, fit.theta, 1e-3, g);
  assert.ok(Math.hypot(...g) < 1e-6, `gradient ${Math.hypot(...g)}`);
  const err = Math.hypot(...fit.theta.map((t, j) => t - theta[j]));
  assert.ok(err < 0.15 * Math.hypot(...theta), `‖θ̂ − θ*‖ = ${err}`);
  // Empirical frequency of the top item among 3 fixed items matches the softmax.
  const r = rewardsOf(env, theta);
  const base = env.offsets[1];
  let top0 = 0;
  const m = 20000;
  const srng = new Rng(9);
  const uniform = new Float64Array(env.offsets[env.nContexts]).fill(0);
  const one = { ...env, nContexts: 1, weights: Float64Array.of(1) };
  for (let i = 0; i < m; i++) {
    const s = sampleRankings(one, uniform, 1, 5, theta, srng);
    if (s.items[0] === 0) top0++;
  }
  const p0 = Math.exp(r[base - base]) / [0, 1, 2, 3, 4].reduce((t, a) => t + Math.exp(r[a]), 0);
  assert.ok(
    Math.abs(top0 / m - p0) < 4 * Math.sqrt((p0 * (1 - p0)) / m),
    `top-1 frequency ${top0 / m} vs ${p0}`,
  );
});
