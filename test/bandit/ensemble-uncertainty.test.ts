import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { emptyPairs, featureDiffs } from '../../src/bandit/env.js';
import { behaviourPolicy, generateEnv } from '../../src/bandit/generate.js';
import { fitMLE } from '../../src/bandit/mle.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { inverseSPD } from '../../src/math/linalg.js';
import { bootstrapPrecision } from '../../src/bandit/algorithms/ensemble-uncertainty.js';
import { online } from '../../src/bandit/algorithms/online.js';

test('bootstrap ensemble: the covariance of K = 300 MLEs matches the inverse Fisher information (Σ wΔφΔφᵀ + λI)⁻¹', () => {
  const env = generateEnv({ d: 3, K: 6, nContexts: 40, normB: 2, refTemperature: 1, eta: 0.5, seed: 5 });
  const rng = new Rng(6);
  const beh = behaviourPolicy(env, 'good');
  const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('o'));
  const pairs = samplePairs(env, beh, beh, 3000, oracle, rng.fork('p'));
  const d = env.d;
  const n = pairs.context.length;
  const dphi = featureDiffs(env, pairs);
  const theta = fitMLE({ dphi, n, d }, { lambda: 1 }).theta;
  // Fisher information at θ̂ with the logistic weights w = σ(z)σ(−z).
  const H = new Float64Array(d * d);
  for (let i = 0; i < d; i++) H[i * d + i] = 1;
  for (let r = 0; r < n; r++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += theta[j] * dphi[r * d + j];
    const s = 1 / (1 + Math.exp(-z));
    const w = s * (1 - s);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) H[i * d + j] += w * dphi[r * d + i] * dphi[r * d + j];
  }
  const Hinv = inverseSPD(H, d);
  const ens = bootstrapPrecision(dphi, n, d, 1, 300, new Rng(7));
  let num = 0;
  let den = 0;
  for (let k = 0; k < d * d; k++) {
    num += (ens.covariance[k] - Hinv[k]) ** 2;
    den += Hinv[k] ** 2;
  }
  const rel = Math.sqrt(num / den);
  // K = 300 draws: the sampling error of a covariance is ≈ √(2/K) ≈ 8% per entry.
  assert.ok(rel < 0.25, `relative Frobenius error ${rel}`);
  // The precision is the regularised inverse of the covariance.
  const back = inverseSPD(ens.precision, d);
  for (let i = 0; i < d; i++)
    assert.ok(
      Math.abs(back[i * d + i] - ens.covariance[i * d + i]) < 1e-3 * ens.covariance[i * d + i] + 1e-12,
    );
  assert.throws(() => bootstrapPrecision(dphi, n, d, 1, 1, new Rng(1)), /members must be an integer ≥ 2/);
});

test('sigmaSource ensemble in the loop: exact labels; Σ-blind enhancers unchanged; the uncertainty enhancer moves', () => {
  const env = generateEnv({ d: 4, K: 8, nContexts: 30, normB: 3, refTemperature: 1, eta: 0.5, seed: 2 });
  const run = (enhancer: 'symmetric' | 'uncertainty', sigmaSource: 'design' | 'ensemble') => {
    const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, new Rng('o'));
    return online.run(
      { env, offline: emptyPairs(), oracle, rng: new Rng('a') },
      { enhancer, sigmaSource, ensembleSize: 6, T: 3, onlineBudget: 300, validationQueries: 30 },
    );
  };
  const a = run('symmetric', 'design');
  const b = run('symmetric', 'ensemble');
  assert.deepEqual(Array.from(b.policy), Array.from(a.policy));
  const u = run('uncertainty', 'design');
  const v = run('uncertainty', 'ensemble');
  assert.equal(v.labelsUsed, 300);
  assert.equal(v.diagnostics?.shortfall, 0);
  assert.notDeepEqual(Array.from(v.policy), Array.from(u.policy));
  assert.ok((v.diagnostics?.minEnhancerSlack ?? -1) >= 0, 'the enhancer stays feasible under Σ_ens');
  assert.throws(() => run('symmetric', 'bogus' as never), /sigmaSource must be one of design \| ensemble/);
});
