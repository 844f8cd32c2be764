import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { logSumExp } from '../../src/math/special.js';
import { generateEnv, behaviourPolicy, type Coverage } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { featureDiffs, type BanditEnv, type PairData } from '../../src/bandit/env.js';
import { btGradient, fitMLE } from '../../src/bandit/mle.js';
import {
  gibbsOfTheta,
  meanFeature,
  objective,
  rewardsOf,
  normalizePerContext,
} from '../../src/bandit/policy.js';
import { pairCovariance, Uncertainty } from '../../src/bandit/uncertainty.js';
import {
  mleGibbs,
  gshfOfflineOption1,
  gshfOfflineOption2,
  offlineAlgorithms,
  theoryBeta,
  referenceFeatures,
} from '../../src/bandit/algorithms/offline.js';
import { minimizeQuadraticOnBall, symmetricEigen } from '../../src/bandit/algorithms/offline-pessimism.js';
import type { AlgorithmContext } from '../../src/bandit/algorithms/types.js';

function setup(
  seed: number,
  coverage: Coverage = 'poor',
  n = 150,
): { env: BanditEnv; pairs: PairData; ctx: AlgorithmContext } {
  const env = generateEnv({ d: 4, K: 5, nContexts: 8, normB: 2, refTemperature: 1, eta: 0.5, seed });
  const beh = behaviourPolicy(env, coverage);
  const rng = new Rng(`data-${seed}`);
  const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('labels'));
  const pairs = samplePairs(env, beh, beh, n, oracle, rng.fork('pairs'), { dropTies: true });
  return { env, pairs, ctx: { env, offline: pairs, oracle: null, rng: new Rng(seed) } };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Primal objective of Option I, computed from policy.ts/uncertainty.ts (independent of the solver). */
function option1Primal(
  env: BanditEnv,
  logp: Float64Array,
  thetaMle: Float64Array,
  unc: Uncertainty,
  nu: Float64Array,
  beta: number,
): number {
  return objective(env, logp, rewardsOf(env, thetaMle)) - beta * unc.expected(env, logp, nu);
}

/** Dual F(u) = V(θ̂ − βu) + β⟨u, ν̄⟩, computed directly by log-sum-exp. */
function option1Dual(
  env: BanditEnv,
  thetaMle: Float64Array,
  u: Float64Array,
  nu: Float64Array,
  beta: number,
): number {
  const d = env.d;
  const th = Float64Array.from(thetaMle, (t, j) => t - beta * u[j]);
  const r = rewardsOf(env, th);
  let V = 0;
  const nuBar = new Float64Array(d);
  for (let c = 0; c < env.nContexts; c++) {
    const s = env.offsets[c];
    const len = env.offsets[c + 1] - s;
    const z = new Float64Array(len);
    for (let a = 0; a < len; a++) z[a] = env.refLogprobs[s + a] + r[s + a] / env.eta;
    V += env.weights[c] * env.eta * logSumExp(z);
    for (let j = 0; j < d; j++) nuBar[j] += env.weights[c] * nu[c * d + j];
  }
  let lin = 0;
  for (let j = 0; j < d; j++) lin += u[j] * nuBar[j];
  return V + beta * lin;
}

function sigmaNorm(sigma: Float64Array, u: Float64Array): number {
  const d = u.length;
  let s = 0;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) s += u[i] * sigma[i * d + j] * u[j];
  return Math.sqrt(s);
}

test('registry list: six uniquely named offline algorithms with defaults', () => {
  const names = offlineAlgorithms.map((a) => a.name);
  assert.deepEqual(names, [
    'mle-gibbs',
    'gshf-offline-option1',
    'gshf-offline-option2',
    'dpo',
    'rso',
    'rso-multistep',
  ]);
  for (const a of offlineAlgorithms) {
    assert.equal(a.setting, 'offline');
    assert.ok(a.description.length > 20);
    assert.equal(typeof a.defaults, 'object');
  }
});

test('mle-gibbs equals Gibbs of the ridge BT-MLE, and θ̂ is stationary', () => {
  const { env, pairs, ctx } = setup(1);
  const res = mleGibbs.run(ctx, { lambda: 0.5 });
  const theta = fitMLE(env, pairs, { lambda: 0.5 }).theta;
  assert.ok(maxAbsDiff(res.thetaHat as Float64Array, theta) < 1e-12);
  assert.ok(maxAbsDiff(res.policy, gibbsOfTheta(env, theta)) < 1e-12);
  const dphi = featureDiffs(env, pairs);
  const g = btGradient(dphi, pairs.context.length, env.d, theta, 0.5);
  assert.ok(Math.hypot(...g) < 1e-8, `‖∇L(θ̂)‖ = ${Math.hypot(...g)}`);
  assert.equal(res.labelsUsed, pairs.context.length);
  // No data: θ̂ = 0 and the output is π0.
  const empty = mleGibbs.run(
    {
      ...ctx,
      offline: { context: new Int32Array(0), chosen: new Int32Array(0), rejected: new Int32Array(0) },
    },
    {},
  );
  assert.ok(maxAbsDiff(empty.policy, env.refLogprobs) < 1e-12);
});

test('unknown or ill-typed options are rejected with the algorithm name', () => {
  const { ctx } = setup(1);
  assert.throws(
    () => mleGibbs.run(ctx, { lamda: 1 } as unknown as Record<string, never>),
    /mle-gibbs: unknown option "lamda"/,
  );
  assert.throws(() => gshfOfflineOption2.run(ctx, { beta: -1 }), /beta must be/);
  assert.throws(() => gshfOfflineOption2.run(ctx, { nu: 'x' as 'pi0' }), /nu must be one of pi0 \| data/);
  assert.throws(() => gshfOfflineOption1.run(ctx, { lambda: 0 }), /lambda must be a finite number > 0/);
});

test('theory β = √((d + log(1/δ))/γ² + λB²), γ = 1/(2 + e^{-B} + e^B)', () => {
  const gamma = 1 / (2 + Math.exp(-1) + Math.exp(1));
  const expected = Math.sqrt((4 + Math.log(20)) / gamma ** 2 + 1);
  assert.ok(Math.abs(theoryBeta(4, 1, { delta: 0.05, normBound: 1, scale: 1 }) - expected) < 1e-12);
  const { ctx, env } = setup(2);
  const r = gshfOfflineOption2.run(ctx, { beta: 'theory', betaScale: 0.5 });
  assert.ok(
    Math.abs(
      (r.diagnostics?.beta ?? 0) - 0.5 * theoryBeta(env.d, 1, { delta: 0.05, normBound: 1, scale: 1 }),
    ) < 1e-12,
  );
});

test('option II with β = 0 is exactly MLE-Gibbs (both ν choices)', () => {
  const { ctx } = setup(3);
  const base = mleGibbs.run(ctx, { lambda: 1 });
  for (const nu of ['pi0', 'data'] as const) {
    const r = gshfOfflineOption2.run(ctx, { beta: 0, lambda: 1, nu });
    assert.ok(maxAbsDiff(r.policy, base.policy) < 1e-12);
  }
});

test('option II: growing β lowers the mass on poorly covered actions', () => {
  for (const seed of [4, 5, 6]) {
    const { env, pairs, ctx } = setup(seed, 'poor');
    const unc = new Uncertainty(pairCovariance(env, pairs, 1), env.d);
    const gamma = unc.pointwise(env, referenceFeatures(env, pairs, 'pi0'));
    // Per context, the action with the largest Γ: d log π(a)/dβ = −Γ(a) + E_π Γ < 0 for it, so its mass must fall.
    const worst: number[] = [];
    for (let c = 0; c < env.nContexts; c++) {
      let b = env.offsets[c];
      for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) if (gamma[a] > gamma[b]) b = a;
      worst.push(b);
    }
    // The actions the 'poor' behaviour policy floors (outside π0's top 2): rarely or never compared.
    const beh = behaviourPolicy(env, 'poor');
    const floored: number[] = [];
    for (let a = 0; a < beh.length; a++) if (beh[a] < Math.log(0.01)) floored.push(a);
    let prevWorst: number[] | null = null;
    let prevFloored = Infinity;
    for (const beta of [0, 0.25, 0.5, 1, 2, 4]) {
      const p = gshfOfflineOption2.run(ctx, { beta }).policy;
      const w = worst.map((a) => Math.exp(p[a]));
      if (prevWorst)
        w.forEach((m, c) => assert.ok(m < (prevWorst as number[])[c], `seed ${seed} β=${beta} context ${c}`));
      prevWorst = w;
      let mass = 0;
      for (const a of floored) mass += Math.exp(p[a]) * env.weights[Math.floor(a / 5)];
      assert.ok(
        mass < prevFloored,
        `seed ${seed} β=${beta}: floored-action mass ${mass} did not fall from ${prevFloored}`,
      );
      prevFloored = mass;
    }
  }
});

test('option I with β = 0 is exactly MLE-Gibbs', () => {
  const { ctx } = setup(7);
  const base = mleGibbs.run(ctx, {});
  const r = gshfOfflineOption1.run(ctx, { beta: 0 });
  assert.ok(maxAbsDiff(r.policy, base.policy) < 1e-12);
});

test('option I: zero duality gap, primal (policy.ts) = dual (log-sum-exp), and π̂ beats perturbations', () => {
  for (const [seed, nu, beta] of [
    [8, 'pi0', 0.5],
    [9, 'data', 1],
    [10, 'pi0', 2],
    [11, 'data', 0.1],
  ] as const) {
    const { env, pairs, ctx } = setup(seed, seed % 2 === 0 ? 'poor' : 'good');
    const res = gshfOfflineOption1.run(ctx, { beta, nu });
    const thetaMle = fitMLE(env, pairs, { lambda: 1 }).theta;
    const sigma = pairCovariance(env, pairs, 1);
    const unc = new Uncertainty(sigma, env.d);
    const nuF = referenceFeatures(env, pairs, nu);
    // θ_pess = θ̂ − βu  ⇒  u = (θ̂ − θ_pess)/β.
    const thetaP = res.thetaHat as Float64Array;
    const u = Float64Array.from(thetaMle, (t, j) => (t - thetaP[j]) / beta);
    assert.ok(sigmaNorm(sigma, u) <= 1 + 1e-9, `‖u‖_Σ = ${sigmaNorm(sigma, u)}`);
    const P = option1Primal(env, res.policy, thetaMle, unc, nuF, beta);
    const F = option1Dual(env, thetaMle, u, nuF, beta);
    assert.ok(F - P >= -1e-10, `weak duality violated: F − P = ${F - P}`);
    assert.ok(F - P < 1e-9, `seed ${seed}: duality gap ${F - P}`);
    assert.ok((res.diagnostics?.dualityGap ?? 1) < 1e-9);
    // No competitor does better on the primal objective.
    const rivals: Float64Array[] = [
      env.refLogprobs,
      gibbsOfTheta(env, thetaMle),
      gshfOfflineOption2.run(ctx, { beta, nu }).policy,
    ];
    const rng = new Rng(`perturb-${seed}`);
    for (let k = 0; k < 40; k++) {
      const q = Float64Array.from(res.policy, (x) => x + 0.05 * rng.normal());
      rivals.push(normalizePerContext(env, q));
    }
    for (const q of rivals) assert.ok(option1Primal(env, q, thetaMle, unc, nuF, beta) <= P + 1e-10);
  }
});

test('option I: β ≥ ‖θ̂‖_Σ with ν = π0 returns π0 exactly (interior dual optimum u = θ̂/β)', () => {
  const { env, pairs, ctx } = setup(12);
  const thetaMle = fitMLE(env, pairs, { lambda: 1 }).theta;
  const sigma = pairCovariance(env, pairs, 1);
  const s = sigmaNorm(sigma, thetaMle);
  const big = gshfOfflineOption1.run(ctx, { beta: 1.5 * s });
  assert.ok(maxAbsDiff(big.policy, env.refLogprobs) < 1e-7);
  assert.ok((big.diagnostics?.uNormSigma ?? 0) < 1);
  // Below the threshold the constraint is active (‖u‖_Σ = 1) and the policy moves away from π0.
  const small = gshfOfflineOption1.run(ctx, { beta: 0.5 * s });
  assert.ok(Math.abs((small.diagnostics?.uNormSigma ?? 0) - 1) < 1e-9);
  assert.ok(maxAbsDiff(small.policy, env.refLogprobs) > 1e-3);
  // π̂'s mean feature sits between π0's and MLE-Gibbs's along the pessimism path.
  const m0 = meanFeature(env, env.refLogprobs);
  const m1 = meanFeature(env, small.policy);
  assert.ok(m1.some((v, j) => Math.abs(v - m0[j]) > 1e-6));
});

test('quadratic-over-ball subproblem matches brute force; Jacobi eigen reconstructs', () => {
  const rng = new Rng('ball');
  for (let trial = 0; trial < 20; trial++) {
    const d = 3;
    const M = Array.from({ length: d * d }, () => rng.normal());
    const H = new Float64Array(d * d);
    // H = MMᵀ·s (PSD), sometimes rank-deficient.
    const rank = trial % 3 === 0 ? 1 : d;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < rank; k++) s += M[i * d + k] * M[j * d + k];
        H[i * d + j] = s * (trial % 2 ? 0.1 : 3);
      }
    const { values, vectors } = symmetricEigen(H, d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += vectors[k * d + i] * values[k] * vectors[k * d + j];
        assert.ok(Math.abs(s - H[i * d + j]) < 1e-10);
      }
    const b = Array.from({ length: d }, () => rng.normal() * 2);
    const q = (y: ArrayLike<number>): number => {
      let s = 0;
      for (let i = 0; i < d; i++) {
        s += b[i] * y[i];
        for (let j = 0; j < d; j++) s += 0.5 * y[i] * H[i * d + j] * y[j];
      }
      return s;
    };
    const y = minimizeQuadraticOnBall(b, H, d);
    assert.ok(Math.hypot(...y) <= 1 + 1e-12);
    const qy = q(y);
    for (let k = 0; k < 3000; k++) {
      const z = [rng.normal(), rng.normal(), rng.normal()];
      const r = Math.cbrt(rng.uniform()) / Math.hypot(...z);
      assert.ok(q(z.map((v) => v * r)) >= qy - 1e-12);
    }
  }
});
