import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { fitMLE } from '../../src/bandit/mle.js';
import { Rng } from '../../src/math/rng.js';
import {
  AnnotatorPool,
  fitAnnotatorModel,
  sampleAnnotatedPairs,
  weightedMedian,
} from '../../src/bandit/multi/annotators.js';

test('weightedMedian: hand cases', () => {
  assert.equal(weightedMedian([3, 1, 2], [1, 1, 1]), 2);
  assert.equal(weightedMedian([3, 1, 2], [1, 1, 5]), 2);
  assert.equal(weightedMedian([3, 1, 2], [10, 1, 1]), 3);
  assert.equal(weightedMedian([5, -1], [0, 2]), -1);
});

test('annotator reliabilities and θ* are recovered from simulated annotators (one adversarial, one noisy)', () => {
  const env = generateEnv({ d: 4, K: 8, nContexts: 30, normB: 3, refTemperature: 1, eta: 0.5, seed: 8 });
  const truth = [1, 1, 1, 0.4, -1];
  const pool = new AnnotatorPool(env, env.thetaStar!, truth, new Rng(1));
  const mu = behaviourPolicy(env, 'good');
  const data = sampleAnnotatedPairs(env, mu, mu, 25000, pool, new Rng(2));
  const fit = fitAnnotatorModel(env, data, truth.length, { lambda: 1e-3 });
  assert.ok(fit.converged, `rounds ${fit.rounds}`);
  truth.forEach((s, j) =>
    assert.ok(Math.abs(fit.reliability[j] - s) < 0.12, `s_${j} = ${fit.reliability[j]} vs ${s}`),
  );
  const norm = Math.hypot(...env.thetaStar!);
  const err = Math.hypot(...fit.theta.map((t, j) => t - env.thetaStar![j]));
  assert.ok(err < 0.1 * norm, `joint ‖θ̂ − θ*‖ = ${err}`);
  // Plain BT on the same labels shrinks θ toward 0 (the flipped labels cancel honest ones).
  const plain = fitMLE(env, data, { lambda: 1e-3 });
  const errPlain = Math.hypot(...plain.theta.map((t, j) => t - env.thetaStar![j]));
  assert.ok(Math.hypot(...plain.theta) < 0.8 * norm && errPlain > 2 * err, `plain error ${errPlain}`);
  assert.deepEqual(Array.from(fit.labels), Array.from(pool.queries));
});

test('with an adversarial majority the fit follows the majority: identifiability needs an honest majority', () => {
  const env = generateEnv({ d: 2, K: 4, nContexts: 5, normB: 2, refTemperature: 1, eta: 0.5, seed: 2 });
  const pool = new AnnotatorPool(env, env.thetaStar!, [-1, -1, 1], new Rng(3));
  const mu = behaviourPolicy(env, 'good');
  const data = sampleAnnotatedPairs(env, mu, mu, 3000, pool, new Rng(4));
  // With θ started from the majority's view, the majority is "honest" for the flipped reward: the fit
  // succeeds but its θ points away from θ*; identifiability needs an honest majority (documented).
  const fit = fitAnnotatorModel(env, data, 3, { lambda: 1e-3 });
  const cos =
    fit.theta.reduce((s, t, j) => s + t * env.thetaStar![j], 0) /
    (Math.hypot(...fit.theta) * Math.hypot(...env.thetaStar!));
  assert.ok(cos < -0.9, `cos(θ̂, θ*) = ${cos}`);
  assert.ok(fit.reliability[2] < 0);
});
