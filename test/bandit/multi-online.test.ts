import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEnv } from '../../src/bandit/generate.js';
import { pairCovariance } from '../../src/bandit/uncertainty.js';
import { Rng } from '../../src/math/rng.js';
import {
  MultiObjectiveOracle,
  concatMultiPairs,
  fitPerDimension,
  objectiveThetas,
  pairsOfDimension,
  perDimensionCovariance,
  sampleMultiPairs,
} from '../../src/bandit/multi/objectives.js';
import { runAnnotatedOnline, runMultiObjectiveGshf } from '../../src/bandit/multi/online.js';
import { AnnotatorPool } from '../../src/bandit/multi/annotators.js';
import { behaviourPolicy } from '../../src/bandit/generate.js';
import { close } from './multi-helpers.js';

const env = generateEnv({ d: 4, K: 6, nContexts: 20, normB: 3, refTemperature: 1, eta: 0.5, seed: 5 });

test('objective thetas: θ_0 = θ*, cos(θ_0, θ_j) = ρ and ‖θ_j‖ as asked', () => {
  const ts = objectiveThetas(env, { k: 3, correlation: -0.4, norm: 2, seed: 1 });
  assert.deepEqual(Array.from(ts[0]), Array.from(env.thetaStar!));
  for (const t of ts.slice(1)) {
    close(Math.hypot(...t), 2, 1e-12, 'norm');
    const cos = t.reduce((s, v, j) => s + v * ts[0][j], 0) / (2 * Math.hypot(...ts[0]));
    close(cos, -0.4, 1e-12, 'cos');
  }
});

test('per-dimension labels: each names its dimension, counts per oracle, Σ_k and θ̂_k recover each dimension', () => {
  const thetas = objectiveThetas(env, { k: 2, correlation: 0, seed: 2 });
  const oracle = new MultiObjectiveOracle(env, thetas, new Rng(1));
  const mu = behaviourPolicy(env, 'good');
  const data = sampleMultiPairs(env, mu, mu, 16000, oracle, (i) => i % 2, new Rng(2));
  assert.equal(oracle.queriesOn(0), 8000);
  assert.equal(oracle.queriesOn(1), 8000);
  const sig = perDimensionCovariance(env, data, 2, 0.5);
  const all = pairCovariance(env, data, 0.5);
  for (let i = 0; i < 16; i++)
    close(sig[0][i] + sig[1][i] - (i % 5 === 0 ? 0.5 : 0), all[i], 1e-9, 'Σ_0 + Σ_1 − λI = Σ');
  const fits = fitPerDimension(env, data, 2, { lambda: 1e-3 });
  fits.forEach((f, k) => {
    const err = Math.hypot(...f.theta.map((t, j) => t - thetas[k][j]));
    assert.ok(err < 0.1 * 3, `dimension ${k}: ‖θ̂ − θ‖ = ${err}`);
  });
  assert.equal(pairsOfDimension(concatMultiPairs(data, data), 1).context.length, 16000);
});

test('multi-objective GSHF: round-robin alternates dimensions; the uncertainty rule never asks a dimension of weight 0', () => {
  const thetas = objectiveThetas(env, { k: 2, correlation: 0, seed: 3 });
  const o = { T: 3, budget: 90, lambda: 0.1 };
  const rr = new MultiObjectiveOracle(env, thetas, new Rng(1));
  const a = runMultiObjectiveGshf(env, rr, [0.5, 0.5], 'round-robin', o, new Rng(2));
  assert.deepEqual(a.labelsPerDimension, [45, 45]);
  const un = new MultiObjectiveOracle(env, thetas, new Rng(1));
  const b = runMultiObjectiveGshf(env, un, [1, 0], 'uncertainty', o, new Rng(2));
  assert.deepEqual(b.labelsPerDimension, [90, 0]);
  // Equal weights and symmetric dimensions: the rule balances the labels.
  const eq = runMultiObjectiveGshf(
    env,
    new MultiObjectiveOracle(env, thetas, new Rng(1)),
    [0.5, 0.5],
    'uncertainty',
    o,
    new Rng(2),
  );
  assert.ok(Math.abs(eq.labelsPerDimension[0] - 45) <= 15, `labels ${eq.labelsPerDimension}`);
});

test('annotated online loop: routing sends fewer labels to adversarial annotators; plain keeps every reliability at 1', () => {
  const truth = [1, 1, 1, 1, -1];
  const o = { T: 4, budget: 800, lambda: 0.01 };
  const plain = runAnnotatedOnline(
    env,
    new AnnotatorPool(env, env.thetaStar!, truth, new Rng(1)),
    'plain',
    o,
    new Rng(2),
  );
  assert.deepEqual(Array.from(plain.reliability), [1, 1, 1, 1, 1]);
  const routed = runAnnotatedOnline(
    env,
    new AnnotatorPool(env, env.thetaStar!, truth, new Rng(1)),
    'routed',
    o,
    new Rng(2),
  );
  const total = routed.labels.reduce((s, v) => s + v, 0);
  assert.equal(total, 800);
  // Batch 1 is uniform (≈ 200/5 = 40 adversarial labels); later batches route ∝ max(ŝ, 0)² ≈ 0 to annotator 4.
  assert.ok(routed.labels[4] < 70, `adversarial labels ${routed.labels[4]}`);
  assert.ok(routed.reliability[4] < 0);
});
