import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureDiffs, type PairData } from '../../src/bandit/env.js';
import { envFromJson } from '../../src/bandit/files.js';
import { generateEnv } from '../../src/bandit/generate.js';
import { expectedFeatures, uniformPolicy } from '../../src/bandit/policy.js';
import { Uncertainty, expectedPairCovariance, pairCovariance } from '../../src/bandit/uncertainty.js';
import { dot, inverseSPD, matVec } from '../../src/math/linalg.js';
import { Rng } from '../../src/math/rng.js';

function close(a: number, b: number, tol: number, what = ''): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);
}

/** d = 2, one context with actions φ = (1,0), (0,1), (1,1); uniform π0. */
const env2 = envFromJson({
  eta: 1,
  contexts: [
    {
      features: [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
      ref_logprobs: [0, 0, 0],
    },
  ],
});

function pairs(rows: [number, number, number][]): PairData {
  return {
    context: Int32Array.from(rows.map((r) => r[0])),
    chosen: Int32Array.from(rows.map((r) => r[1])),
    rejected: Int32Array.from(rows.map((r) => r[2])),
  };
}

test('pairCovariance by hand: λI + Σ ΔφΔφᵀ', () => {
  // Δφ = φ2 − φ0 = (0,1) and φ1 − φ0 = (−1,1): Σ = I + [[0,0],[0,1]] + [[1,−1],[−1,1]] = [[2,−1],[−1,3]]
  const S = pairCovariance(
    env2,
    pairs([
      [0, 2, 0],
      [0, 1, 0],
    ]),
    1,
  );
  assert.deepEqual(Array.from(S), [2, -1, -1, 3]);
  assert.deepEqual(Array.from(pairCovariance(env2, pairs([]), 0.5)), [0.5, 0, 0, 0.5]);
});

test('Uncertainty norms in a hand 2-d case', () => {
  // Σ = [[2,−1],[−1,3]], det 5, Σ⁻¹ = [[3,1],[1,2]]/5.
  const U = new Uncertainty(Float64Array.from([2, -1, -1, 3]), 2);
  close(U.norm([1, 0]), Math.sqrt(3 / 5), 1e-15, 'e1');
  close(U.norm([1, 1]), Math.sqrt(7 / 5), 1e-15, '(1,1)');
  close(U.norm([1, -2]), Math.sqrt((3 - 4 + 8) / 5), 1e-15, '(1,−2)');
  // Pointwise with ν = 0: Γ(a) = ‖φ(a)‖_{Σ⁻¹}
  const g0 = U.pointwise(env2, null);
  close(g0[0], Math.sqrt(3 / 5), 1e-15);
  close(g0[1], Math.sqrt(2 / 5), 1e-15);
  close(g0[2], Math.sqrt(7 / 5), 1e-15);
  // Centred at ν = (1,0): Γ = ‖(0,0)‖, ‖(−1,1)‖, ‖(0,1)‖
  const g1 = U.pointwise(env2, Float64Array.from([1, 0]));
  close(g1[0], 0, 0);
  close(g1[1], Math.sqrt((3 - 2 + 2) / 5), 1e-15);
  close(g1[2], Math.sqrt(2 / 5), 1e-15);
  // Expected: uniform π → φ(x,π) = (2/3, 2/3); Γ^e with ν = 0 is ‖(2/3,2/3)‖ = (2/3)·√(7/5)
  close(U.expected(env2, uniformPolicy(env2), null), (2 / 3) * Math.sqrt(7 / 5), 1e-15, 'Γ^e');
  // Relative: deterministic π1 = action 2, π2 = action 0: ‖(0,1)‖ = √(2/5)
  const p1 = Float64Array.from([-Infinity, -Infinity, 0]);
  const p2 = Float64Array.from([0, -Infinity, -Infinity]);
  close(U.relative(env2, p1, p2), Math.sqrt(2 / 5), 1e-15, 'relative');
  close(U.relative(env2, p1, p1), 0, 0, 'relative to itself');
});

test('pointwise Γ equals √((φ−ν)ᵀ Σ⁻¹ (φ−ν)) with an explicit inverse', () => {
  const env = generateEnv({ d: 6, K: 5, nContexts: 8, normB: 1, refTemperature: 1, eta: 1, seed: 12 });
  const rng = new Rng(3);
  const d = 6;
  // Random SPD Σ = λI + XᵀX
  const S = new Float64Array(d * d);
  for (let i = 0; i < d; i++) S[i * d + i] = 0.3;
  for (let r = 0; r < 20; r++) {
    const x = Array.from({ length: d }, () => rng.normal());
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) S[i * d + j] += x[i] * x[j];
  }
  const inv = inverseSPD(S, d);
  const nu = Float64Array.from({ length: env.nContexts * d }, () => rng.normal() * 0.2);
  const U = new Uncertainty(S, d);
  const g = U.pointwise(env, nu);
  for (let c = 0; c < env.nContexts; c++)
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) {
      const v = Array.from({ length: d }, (_, j) => env.features[a * d + j] - nu[c * d + j]);
      close(g[a], Math.sqrt(dot(v, matVec(inv, d, d, v))), 1e-12, `Γ(${c},${a})`);
    }
  // Γ^e of a policy equals the explicit norm of the weighted mean difference.
  const u = uniformPolicy(env);
  const ef = expectedFeatures(env, u);
  const m = new Array<number>(d).fill(0);
  for (let c = 0; c < env.nContexts; c++)
    for (let j = 0; j < d; j++) m[j] += env.weights[c] * (ef[c * d + j] - nu[c * d + j]);
  close(U.expected(env, u, nu), Math.sqrt(dot(m, matVec(inv, d, d, m))), 1e-12, 'Γ^e');
});

test('expectedPairCovariance equals exact enumeration over action pairs', () => {
  const env = generateEnv({ d: 3, K: 4, nContexts: 3, normB: 1, refTemperature: 0.5, eta: 1, seed: 13 });
  const p1 = env.refLogprobs;
  const p2 = uniformPolicy(env);
  const lambda = 0.2;
  const scale = 7;
  const S = expectedPairCovariance(env, p1, p2, lambda, scale);
  const d = 3;
  const E = new Float64Array(d * d);
  for (let i = 0; i < d; i++) E[i * d + i] = lambda;
  for (let c = 0; c < env.nContexts; c++)
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++)
      for (let b = env.offsets[c]; b < env.offsets[c + 1]; b++) {
        const w = scale * env.weights[c] * Math.exp(p1[a]) * Math.exp(p2[b]);
        for (let i = 0; i < d; i++)
          for (let j = 0; j < d; j++) {
            const di = env.features[a * d + i] - env.features[b * d + i];
            const dj = env.features[a * d + j] - env.features[b * d + j];
            E[i * d + j] += w * di * dj;
          }
      }
  for (let k = 0; k < d * d; k++) close(S[k], E[k], 1e-12, `Σ[${k}]`);
});

test('update() adds outer products and refactors', () => {
  const env = generateEnv({ d: 4, K: 5, nContexts: 10, normB: 1, refTemperature: 1, eta: 1, seed: 14 });
  const pr = pairs([
    [0, 1, 2],
    [3, 0, 4],
    [7, 2, 1],
  ]);
  const base = pairCovariance(env, pairs([[1, 0, 3]]), 0.5);
  const U = new Uncertainty(base, 4);
  U.update(featureDiffs(env, pr));
  const full = pairCovariance(
    env,
    pairs([
      [1, 0, 3],
      [0, 1, 2],
      [3, 0, 4],
      [7, 2, 1],
    ]),
    0.5,
  );
  const V = new Uncertainty(full, 4);
  for (let k = 0; k < 16; k++) close(U.sigma[k], full[k], 1e-14);
  const v = [0.3, -1, 0.2, 0.5];
  close(U.norm(v), V.norm(v), 1e-14);
  // More data → smaller uncertainty in every direction.
  const W = new Uncertainty(base, 4);
  assert.ok(U.norm(v) < W.norm(v));
  assert.throws(() => new Uncertainty(new Float64Array(9), 3), /not positive definite/);
});
