import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureDiffs, type BanditEnv } from '../../src/bandit/env.js';
import { behaviourPolicy, generateEnv } from '../../src/bandit/generate.js';
import { btGradient, btHessian, btNegLogLik, fitMLE, type DiffData } from '../../src/bandit/mle.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { Rng } from '../../src/math/rng.js';
import { linearFit } from '../../src/math/stats.js';

function dist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
function nrm(a: ArrayLike<number>): number {
  return dist(a, new Float64Array(a.length));
}

function randomDiffs(n: number, d: number, seed: number): DiffData {
  const rng = new Rng(seed);
  const dphi = new Float64Array(n * d);
  for (let i = 0; i < dphi.length; i++) dphi[i] = rng.normal() * 0.7;
  return { dphi, n, d };
}

/** Pairs drawn with good coverage from a generated environment, labelled by the BT oracle at θ*. */
function dataset(env: BanditEnv, n: number, seed: number): DiffData {
  const mu = behaviourPolicy(env, 'good');
  const oracle = new PreferenceOracle(env, env.thetaStar!, new Rng(`oracle-${seed}`));
  const pairs = samplePairs(env, mu, mu, n, oracle, new Rng(`pairs-${seed}`));
  return { dphi: featureDiffs(env, pairs), n, d: env.d };
}

test('btGradient matches central finite differences of btNegLogLik', () => {
  const { dphi, n, d } = randomDiffs(60, 4, 1);
  const theta = Float64Array.from([0.4, -1.2, 2.0, 0.1]);
  const lambda = 0.3;
  const g = btGradient(dphi, n, d, theta, lambda);
  const h = 1e-5;
  for (let j = 0; j < d; j++) {
    const tp = Float64Array.from(theta);
    const tm = Float64Array.from(theta);
    tp[j] += h;
    tm[j] -= h;
    const fd = (btNegLogLik(dphi, n, d, tp, lambda) - btNegLogLik(dphi, n, d, tm, lambda)) / (2 * h);
    assert.ok(Math.abs(fd - g[j]) < 1e-6 * Math.max(1, Math.abs(g[j])), `∂L/∂θ${j}: fd ${fd} vs ${g[j]}`);
  }
});

test('btHessian matches central finite differences of btGradient and is symmetric', () => {
  const { dphi, n, d } = randomDiffs(60, 4, 2);
  const theta = Float64Array.from([-0.5, 0.8, 1.5, -2]);
  const lambda = 0.7;
  const H = btHessian(dphi, n, d, theta, lambda);
  const h = 1e-5;
  for (let j = 0; j < d; j++) {
    const tp = Float64Array.from(theta);
    const tm = Float64Array.from(theta);
    tp[j] += h;
    tm[j] -= h;
    const gp = btGradient(dphi, n, d, tp, lambda);
    const gm = btGradient(dphi, n, d, tm, lambda);
    for (let i = 0; i < d; i++) {
      const fd = (gp[i] - gm[i]) / (2 * h);
      assert.ok(
        Math.abs(fd - H[i * d + j]) < 1e-6 * Math.max(1, Math.abs(fd)),
        `H[${i},${j}]: fd ${fd} vs ${H[i * d + j]}`,
      );
      assert.equal(H[i * d + j], H[j * d + i]);
    }
  }
});

test('fitMLE converges to a stationary point (gradient ≈ 0) in few Newton steps', () => {
  const data = randomDiffs(500, 6, 3);
  // Labels are arbitrary here (random Δφ signs): the MLE still exists and is finite.
  const r = fitMLE(data, null, { lambda: 0.5 });
  assert.ok(r.converged);
  assert.ok(r.iterations <= 15, `iterations ${r.iterations}`);
  const g = btGradient(data.dphi, data.n, data.d, r.theta, 0.5);
  assert.ok(nrm(g) < 1e-7, `‖∇‖ = ${nrm(g)}`);
  assert.ok(Math.abs(r.negLogLik - btNegLogLik(data.dphi, data.n, data.d, r.theta, 0.5)) < 1e-8);
  assert.equal(r.mu, 0);
  // Same answer via the (data, opts) overload and from a warm start.
  const r2 = fitMLE(data, { lambda: 0.5, init: Float64Array.from([1, 1, 1, 1, 1, 1]) });
  assert.ok(dist(r.theta, r2.theta) < 1e-9);
});

test('fitMLE(env, pairs) equals fitMLE on the precomputed differences', () => {
  const env = generateEnv({ d: 3, K: 4, nContexts: 10, normB: 2, refTemperature: 1, eta: 1, seed: 4 });
  const mu = behaviourPolicy(env, 'good');
  const pairs = samplePairs(
    env,
    mu,
    mu,
    300,
    new PreferenceOracle(env, env.thetaStar!, new Rng(1)),
    new Rng(2),
  );
  const a = fitMLE(env, pairs, { lambda: 1 });
  const b = fitMLE({ dphi: featureDiffs(env, pairs), n: 300, d: 3 }, null, { lambda: 1 });
  assert.deepEqual(Array.from(a.theta), Array.from(b.theta));
});

test('MLE recovers θ* and the error shrinks like 1/√n', () => {
  const env = generateEnv({ d: 5, K: 8, nContexts: 100, normB: 2, refTemperature: 1, eta: 0.5, seed: 5 });
  const ns = [200, 800, 3200, 20000];
  const seeds = [1, 2, 3, 4, 5, 6];
  const meanErr = ns.map((n) => {
    let s = 0;
    for (const seed of seeds) {
      const r = fitMLE(dataset(env, n, seed), null, { lambda: 1 });
      assert.ok(r.converged);
      s += dist(r.theta, env.thetaStar!);
    }
    return s / seeds.length;
  });
  // √(20000/200) = 10: demand at least a 5× reduction.
  assert.ok(meanErr[3] < meanErr[0] / 5, `errors ${meanErr.join(', ')}`);
  assert.ok(meanErr[3] < 0.1 * nrm(env.thetaStar!), `error at n = 20000 is ${meanErr[3]}`);
  const fit = linearFit(ns.map(Math.log), meanErr.map(Math.log));
  assert.ok(
    fit.slope > -0.65 && fit.slope < -0.35,
    `log-log slope ${fit.slope} (errors ${meanErr.join(', ')})`,
  );
});

/** Noise-free labels: chosen is the action with the higher true reward → perfectly separable. */
function separable(n: number, d: number, seed: number): { data: DiffData; thetaTrue: Float64Array } {
  const rng = new Rng(seed);
  const thetaTrue = Float64Array.from({ length: d }, () => rng.normal());
  const dphi = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) {
      dphi[i * d + j] = rng.normal();
      z += dphi[i * d + j] * thetaTrue[j];
    }
    if (z < 0) for (let j = 0; j < d; j++) dphi[i * d + j] = -dphi[i * d + j];
  }
  return { data: { dphi, n, d }, thetaTrue };
}

test('separable data: the ridge keeps Newton convergent and θ finite; without it ‖θ‖ diverges', () => {
  const { data, thetaTrue } = separable(300, 4, 6);
  const r = fitMLE(data, null, { lambda: 1e-2 });
  assert.ok(r.converged, 'ridge fit converged');
  assert.ok(Number.isFinite(nrm(r.theta)) && nrm(r.theta) < 1e4);
  assert.ok(nrm(btGradient(data.dphi, data.n, data.d, r.theta, 1e-2)) < 1e-6, 'gradient ≈ 0');
  // The direction is right even though the scale is arbitrary.
  let cos = 0;
  for (let j = 0; j < 4; j++) cos += r.theta[j] * thetaTrue[j];
  cos /= nrm(r.theta) * nrm(thetaTrue);
  assert.ok(cos > 0.95, `cosine ${cos}`);
  // Smaller ridge → larger norm (the λ → 0 limit has no minimiser).
  const norms = [1e-1, 1e-2, 1e-3, 1e-4].map((lambda) => nrm(fitMLE(data, null, { lambda }).theta));
  for (let k = 1; k < norms.length; k++)
    assert.ok(norms[k] > norms[k - 1] * 1.2, `norms ${norms.join(', ')}`);
  // λ = 0: Newton never converges; the norm keeps growing with the iteration budget while the loss → 0.
  const a = fitMLE(data, null, { lambda: 0, maxIter: 10 });
  const b = fitMLE(data, null, { lambda: 0, maxIter: 40 });
  assert.ok(!a.converged);
  assert.ok(nrm(b.theta) > 2 * nrm(a.theta), `‖θ‖ after 10: ${nrm(a.theta)}, after 40: ${nrm(b.theta)}`);
  assert.ok(b.negLogLik < a.negLogLik);
});

test('norm-bounded fit: ‖θ‖ = B when the unconstrained fit exceeds B, and KKT holds', () => {
  const env = generateEnv({ d: 6, K: 6, nContexts: 50, normB: 4, refTemperature: 1, eta: 0.5, seed: 7 });
  const data = dataset(env, 5000, 7);
  const lambda = 0.1;
  const free = fitMLE(data, null, { lambda });
  assert.ok(nrm(free.theta) > 3, `unconstrained norm ${nrm(free.theta)}`);
  const B = 1.5;
  const r = fitMLE(data, null, { lambda, normBound: B });
  assert.ok(r.converged);
  assert.ok(Math.abs(nrm(r.theta) - B) < 1e-9 * B, `‖θ‖ = ${nrm(r.theta)}`);
  assert.ok(r.mu > 0);
  // KKT: ∇L(θ̂) = −μ·θ̂, i.e. the gradient of the loss is parallel to −θ̂ with factor μ.
  const g = btGradient(data.dphi, data.n, data.d, r.theta, lambda);
  let cos = 0;
  for (let j = 0; j < 6; j++) cos += -g[j] * r.theta[j];
  cos /= nrm(g) * nrm(r.theta);
  assert.ok(cos > 1 - 1e-10, `cos(∇L, −θ) = ${cos}`);
  assert.ok(Math.abs(nrm(g) - r.mu * B) < 1e-6 * nrm(g), `‖∇L‖ = ${nrm(g)}, μB = ${r.mu * B}`);
  // And it is the minimiser on the sphere: nearby points on ‖θ‖ = B have a larger loss.
  const rng = new Rng(9);
  for (let k = 0; k < 20; k++) {
    const p = Float64Array.from(r.theta, (v) => v + 0.05 * rng.normal());
    const s = B / nrm(p);
    for (let j = 0; j < 6; j++) p[j] *= s;
    assert.ok(btNegLogLik(data.dphi, data.n, data.d, p, lambda) > r.negLogLik);
  }
});

test('norm bound inactive: same as the unconstrained fit with μ = 0', () => {
  const env = generateEnv({ d: 4, K: 5, nContexts: 30, normB: 1, refTemperature: 1, eta: 0.5, seed: 8 });
  const data = dataset(env, 2000, 8);
  const free = fitMLE(data, null, { lambda: 1 });
  const r = fitMLE(data, null, { lambda: 1, normBound: nrm(free.theta) * 1.5 });
  assert.equal(r.mu, 0);
  assert.deepEqual(Array.from(r.theta), Array.from(free.theta));
});

test('fitMLE validates its inputs', () => {
  const data = randomDiffs(10, 3, 10);
  assert.throws(() => fitMLE(data, null, { lambda: -1 }), /lambda/);
  assert.throws(() => fitMLE(data, null, { lambda: 1, normBound: 0 }), /normBound/);
  assert.throws(() => fitMLE(data, null, { lambda: 1, init: new Float64Array(2) }), /init/);
});

test('λ = 0 with rank-deficient data: the jittered Newton finds the closed-form MLE', () => {
  // All Δφ along e₁: 66 wins (+e₁) and 34 losses (−e₁) → σ(θ₁) = 0.66, θ₁ = log(66/34); θ₂ = θ₃ = 0.
  const n = 100;
  const d = 3;
  const dphi = new Float64Array(n * d);
  for (let i = 0; i < n; i++) dphi[i * d] = i % 3 === 0 ? -1 : 1;
  const r = fitMLE({ dphi, n, d }, { lambda: 0 });
  assert.ok(r.converged);
  assert.ok(Math.abs(r.theta[0] - Math.log(66 / 34)) < 1e-12, String(r.theta[0]));
  assert.equal(r.theta[1], 0);
  assert.equal(r.theta[2], 0);
  // Same one-dimensional problem with a ridge: the stationarity condition 66σ(−θ) − 34σ(θ) = λθ.
  const lam = 5;
  const t = fitMLE({ dphi, n, d }, { lambda: lam }).theta[0];
  const s = 1 / (1 + Math.exp(-t));
  // fitMLE stops at ‖∇‖ ≤ 1e-10·n = 1e-8.
  assert.ok(Math.abs(66 * (1 - s) - 34 * s - lam * t) <= 1e-8);
  assert.ok(t > 0 && t < Math.log(66 / 34));
});

test('norm-bounded fit from a warm start outside the ball', () => {
  const data = randomDiffs(400, 5, 11);
  // Make the labels informative so the unconstrained norm is large.
  const dir = [1, -1, 0.5, 2, 0];
  for (let i = 0; i < 400; i++) {
    let z = 0;
    for (let j = 0; j < 5; j++) z += data.dphi[i * 5 + j] * dir[j];
    if (z < 0) for (let j = 0; j < 5; j++) data.dphi[i * 5 + j] *= -1;
  }
  const a = fitMLE(data, { lambda: 0.1, normBound: 0.5 });
  const b = fitMLE(data, { lambda: 0.1, normBound: 0.5, init: Float64Array.from([10, -10, 5, 20, 0]) });
  assert.ok(a.converged && b.converged);
  assert.ok(Math.abs(nrm(a.theta) - 0.5) < 1e-9);
  assert.ok(dist(a.theta, b.theta) < 1e-8, `${Array.from(a.theta)} vs ${Array.from(b.theta)}`);
});

test('fitMLE(env, pairs) with repeated pairs (grouped into sufficient statistics) equals the per-pair fit', () => {
  // Few contexts and actions, many pairs: every unordered pair repeats, in both orientations, plus ties.
  for (const d of [4, 5, 8, 12]) {
    const env = generateEnv({ d, K: 4, nContexts: 30, normB: 2, refTemperature: 1, eta: 1, seed: 40 + d });
    const mu = behaviourPolicy(env, 'good');
    const oracle = new PreferenceOracle(env, env.thetaStar!, new Rng(`oracle-g${d}`));
    const pairs = samplePairs(env, mu, mu, 6000, oracle, new Rng(`pairs-g${d}`));
    const n = pairs.context.length;
    const flat = { dphi: featureDiffs(env, pairs), n, d };
    for (const opts of [{ lambda: 0.7 }, { lambda: 0.7, normBound: 0.5 }]) {
      const a = fitMLE(env, pairs, opts);
      const b = fitMLE(flat, opts);
      assert.ok(
        dist(a.theta, b.theta) <= 1e-12 * Math.max(1, nrm(b.theta)),
        `d=${d} ${JSON.stringify(opts)}: ${dist(a.theta, b.theta)}`,
      );
      assert.ok(
        Math.abs(a.negLogLik - b.negLogLik) <= 1e-12 * b.negLogLik,
        `${a.negLogLik} vs ${b.negLogLik}`,
      );
      assert.ok(
        Math.abs(a.negLogLik - btNegLogLik(flat.dphi, n, d, a.theta, opts.lambda)) <= 1e-10 * b.negLogLik,
      );
      assert.equal(a.converged, b.converged);
      assert.ok(Math.abs(a.gradNorm - b.gradNorm) <= 1e-9 * n, `${a.gradNorm} vs ${b.gradNorm}`);
      assert.ok(Math.abs(a.mu - b.mu) <= 1e-9 * Math.max(1, b.mu));
    }
  }
});

test('fitMLE: unrolled d = 4, 8 kernels and warm starts agree with the gradient/Hessian definitions', () => {
  for (const d of [4, 8]) {
    const data = randomDiffs(3000, d, 7 + d);
    const init = new Float64Array(d).fill(0.3);
    const r = fitMLE(data, { lambda: 0.25, init, tol: 1e-12 });
    assert.ok(r.converged);
    const g = btGradient(data.dphi, data.n, d, r.theta, 0.25);
    assert.ok(nrm(g) <= 1e-8, `‖∇‖ = ${nrm(g)}`);
    assert.ok(Math.abs(r.negLogLik - btNegLogLik(data.dphi, data.n, d, r.theta, 0.25)) <= 1e-9 * r.negLogLik);
  }
});

test('λ = 0 on separable pairs: diverged, not converged; non-separable data still converge', () => {
  // d = 1, every pair has Δφ = +1: any θ > 0 orders all pairs, L(θ) → 0 as θ → ∞.
  const sep = fitMLE({ dphi: Float64Array.from([1, 1, 2]), n: 3, d: 1 }, { lambda: 0 });
  assert.equal(sep.diverged, true);
  assert.equal(sep.converged, false);
  // One reversed pair: the MLE is finite, log-odds 2:1 → θ = log 2 for Δφ = ±1.
  const fin = fitMLE({ dphi: Float64Array.from([1, 1, -1]), n: 3, d: 1 }, { lambda: 0 });
  assert.equal(fin.diverged, false);
  assert.equal(fin.converged, true);
  assert.ok(Math.abs(fin.theta[0] - Math.LN2) < 1e-9, `θ=${fin.theta[0]}`);
  // A ridge keeps separable data finite.
  assert.equal(fitMLE({ dphi: Float64Array.from([1, 1, 2]), n: 3, d: 1 }, { lambda: 1 }).diverged, false);
});

test('the unrolled d = 4, 8 kernels in mle.ts are exactly the output of scripts/gen-unrolled-mle.mjs', async () => {
  const { readFileSync } = await import('node:fs');
  const root = new URL('../../../', import.meta.url);
  const gen = (await import(new URL('scripts/gen-unrolled-mle.mjs', root).href)) as {
    unrolledGradHess(d: number): string;
  };
  const src = readFileSync(new URL('src/bandit/mle.ts', root), 'utf8');
  for (const d of [4, 8])
    assert.ok(src.includes(gen.unrolledGradHess(d)), `gradHessBlock${d} differs from the generator`);
});
