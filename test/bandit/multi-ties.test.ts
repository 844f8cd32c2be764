import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureDiffs } from '../../src/bandit/env.js';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { fitMLE } from '../../src/bandit/mle.js';
import { Rng } from '../../src/math/rng.js';
import {
  TieOracle,
  dpoRaoKupperLoss,
  fitRaoKupper,
  raoKupperNegLogLik,
  raoKupperProbabilities,
  raoKupperTerms,
  sampleTiedPairs,
  withoutTies,
} from '../../src/bandit/multi/ties.js';
import { close, fdGradient } from './multi-helpers.js';

const sig = (z: number) => 1 / (1 + Math.exp(-z));

test('Rao–Kupper probabilities: hand values, they sum to 1, α → 0 is Bradley–Terry', () => {
  const [w, l, t] = raoKupperProbabilities(0.7, 0.4);
  close(w, sig(0.3), 1e-15, 'win');
  close(l, sig(-1.1), 1e-15, 'loss');
  close(t, 1 - sig(0.3) - sig(-1.1), 1e-15, 'tie');
  close(w + l + t, 1, 1e-15, 'sum');
  const [w0, , t0] = raoKupperProbabilities(0.7, 1e-9);
  close(w0, sig(0.7), 1e-9, 'BT limit');
  assert.ok(t0 < 1e-9);
  // Extreme margins stay finite in log space.
  assert.ok(Number.isFinite(raoKupperTerms(800, 0.5, true).nll));
});

test('Rao–Kupper per-pair derivatives in (Δ, α) match finite differences', () => {
  for (const tie of [false, true])
    for (const [D, A] of [
      [0.3, 0.5],
      [-1.2, 0.2],
      [2.5, 1.3],
    ]) {
      const t = raoKupperTerms(D, A, tie);
      const h = 1e-6;
      const f = (x: number, y: number) => raoKupperTerms(x, y, tie);
      close(t.dD, (f(D + h, A).nll - f(D - h, A).nll) / (2 * h), 1e-7, 'dD');
      close(t.dA, (f(D, A + h).nll - f(D, A - h).nll) / (2 * h), 1e-7, 'dA');
      close(t.dDD, (f(D + h, A).dD - f(D - h, A).dD) / (2 * h), 1e-7, 'dDD');
      close(t.dAA, (f(D, A + h).dA - f(D, A - h).dA) / (2 * h), 1e-6, 'dAA');
      close(t.dDA, (f(D, A + h).dD - f(D, A - h).dD) / (2 * h), 1e-7, 'dDA');
    }
});

const env = generateEnv({ d: 3, K: 6, nContexts: 20, normB: 3, refTemperature: 1, eta: 0.5, seed: 4 });

test('tie-aware likelihood: gradient and Hessian in (θ, α) by finite differences; the DPO form too', () => {
  const data = sampleTiedPairs(
    env,
    behaviourPolicy(env, 'good'),
    40,
    new TieOracle(env, env.thetaStar!, 0.6, new Rng(1)),
    new Rng(2),
  );
  assert.ok(data.tie.some((t) => t === 1) && data.tie.some((t) => t === 0));
  const dphi = featureDiffs(env, data);
  const x = Float64Array.of(0.4, -0.2, 0.9, 0.7);
  const g = new Float64Array(4);
  const H = new Float64Array(16);
  raoKupperNegLogLik(dphi, data.tie, 3, x, 0.2, g, H);
  const fd = fdGradient((y) => raoKupperNegLogLik(dphi, data.tie, 3, y, 0.2), x);
  for (let j = 0; j < 4; j++) close(g[j], fd[j], 1e-6, `∇[${j}]`);
  for (let j = 0; j < 4; j++) {
    const row = fdGradient((y) => {
      const gg = new Float64Array(4);
      raoKupperNegLogLik(dphi, data.tie, 3, y, 0.2, gg);
      return gg[j];
    }, x);
    for (let i = 0; i < 4; i++) close(H[j * 4 + i], row[i], 1e-5, `∇²[${j},${i}]`);
  }
  const gd = new Float64Array(4);
  dpoRaoKupperLoss(env, data, x, 0.5, 0.1, gd);
  const fdd = fdGradient((y) => dpoRaoKupperLoss(env, data, y, 0.5, 0.1), x);
  for (let j = 0; j < 4; j++) close(gd[j], fdd[j], 1e-8, `DPO ∇[${j}]`);
  // The DPO form is the MLE objective at θ = η·w (margins scale by η).
  close(
    dpoRaoKupperLoss(env, data, x, 0.5, 0),
    raoKupperNegLogLik(dphi, data.tie, 3, [0.2, -0.1, 0.45, 0.7], 0) / 40,
    1e-12,
    'identity',
  );
});

test('tie-aware MLE recovers (θ*, α); the tie-blind BT fit on the same labels overstates ‖θ‖', () => {
  const alpha = 0.8;
  const data = sampleTiedPairs(
    env,
    behaviourPolicy(env, 'good'),
    20000,
    new TieOracle(env, env.thetaStar!, alpha, new Rng(3)),
    new Rng(4),
  );
  const aware = fitRaoKupper(env, data, { lambda: 1e-3 });
  assert.ok(aware.converged);
  assert.ok(Math.abs(aware.alpha - alpha) < 0.05, `α̂ = ${aware.alpha}`);
  const norm = Math.hypot(...env.thetaStar!);
  const errAware = Math.hypot(...aware.theta.map((t, j) => t - env.thetaStar![j]));
  assert.ok(errAware < 0.08 * norm, `tie-aware error ${errAware}`);
  const blind = fitMLE(env, withoutTies(data), { lambda: 1e-3 });
  const ratio = Math.hypot(...blind.theta) / Math.hypot(...aware.theta);
  // Predicted inflation near Δ = 0 is 2σ(α) = 1.38; at finite margins it is smaller but > 1.
  assert.ok(ratio > 1.15, `tie-blind / tie-aware norm ratio ${ratio}`);
});
