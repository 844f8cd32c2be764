import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envFromJson } from '../../src/bandit/files.js';
import { generateEnv } from '../../src/bandit/generate.js';
import {
  evaluateGibbsExact,
  expectedFeatures,
  expectedReward,
  expectedRewards,
  gapMetric,
  gibbs,
  gibbsOfTheta,
  kl,
  klPerContext,
  klToRef,
  objective,
  optimalPolicy,
  rewardsOf,
  uniformPolicy,
} from '../../src/bandit/policy.js';
import { Rng } from '../../src/math/rng.js';
import { logSumExp } from '../../src/math/special.js';

function close(a: number, b: number, tol: number, what = ''): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);
}

/** One context, two actions, π0 = (½, ½), φ = e1, e2. */
function twoAction(eta: number, theta: number[] | null = [1, 0]) {
  return envFromJson({
    eta,
    ...(theta ? { theta_star: theta } : {}),
    contexts: [
      {
        features: [
          [1, 0],
          [0, 1],
        ],
        ref_logprobs: [Math.log(0.5), Math.log(0.5)],
      },
    ],
  });
}

/** Two contexts with different K (2 and 3) and weights ¾, ¼, to exercise the flat layout. */
const mixed = envFromJson({
  eta: 0.5,
  theta_star: [1, -0.5],
  contexts: [
    {
      weight: 3,
      features: [
        [1, 0],
        [0, 1],
      ],
      ref_logprobs: [0, 0],
    },
    {
      weight: 1,
      features: [
        [0.5, 0.5],
        [-1, 0],
        [0, -1],
      ],
      ref_logprobs: [Math.log(0.2), Math.log(0.3), Math.log(0.5)],
    },
  ],
});

test('Gibbs with r ≡ 0 is π0, and KL(π0‖π0) = 0', () => {
  const env = generateEnv({ d: 4, K: 6, nContexts: 5, normB: 2, refTemperature: 0.7, eta: 0.3, seed: 11 });
  const p = gibbs(env, new Float64Array(30));
  for (let a = 0; a < 30; a++) close(p[a], env.refLogprobs[a], 1e-15, `action ${a}`);
  close(klToRef(env, p), 0, 1e-15, 'KL(π0‖π0)');
  // A constant shift of r within a context changes nothing either.
  const shifted = new Float64Array(30).fill(7.5);
  const q = gibbs(env, shifted);
  for (let a = 0; a < 30; a++) close(q[a], env.refLogprobs[a], 1e-13);
});

test('two-action Gibbs, J and KL by hand (π0 = ½,½; r = 1,0; η = ½)', () => {
  const env = twoAction(0.5);
  const r = rewardsOf(env, env.thetaStar!);
  assert.deepEqual(Array.from(r), [1, 0]);
  const p = gibbs(env, r);
  const e2 = Math.exp(2);
  const p1 = e2 / (1 + e2);
  close(Math.exp(p[0]), p1, 1e-15, 'π(a1)');
  close(Math.exp(p[1]), 1 / (1 + e2), 1e-15, 'π(a2)');
  const klHand = p1 * Math.log(2 * p1) + (1 - p1) * Math.log(2 * (1 - p1));
  close(klToRef(env, p), klHand, 1e-15, 'KL(π‖π0)');
  close(expectedReward(env, p, r), p1, 1e-15, 'E r');
  close(objective(env, p, r), p1 - 0.5 * klHand, 1e-15, 'J');
  // Closed form of the optimum: J(π*) = η·log Z with Z = Σ π0 e^{r/η} = (e² + 1)/2.
  close(objective(env, p, r), 0.5 * Math.log((e2 + 1) / 2), 1e-15, 'J* = η log Z');
  // J of π0 itself is E_{π0} r = ½ (no KL cost).
  close(objective(env, env.refLogprobs, r), 0.5, 1e-15, 'J(π0)');
});

test('Gibbs policy maximises J: random perturbations lower it', () => {
  const env = generateEnv({ d: 5, K: 7, nContexts: 6, normB: 3, refTemperature: 1, eta: 0.4, seed: 3 });
  const r = rewardsOf(env, env.thetaStar!);
  const star = gibbs(env, r);
  const jStar = objective(env, star, r);
  const rng = new Rng(5);
  for (let trial = 0; trial < 50; trial++) {
    const q = Float64Array.from(star);
    const scale = trial < 25 ? 1e-3 : 0.5;
    for (let a = 0; a < q.length; a++) q[a] += scale * rng.normal();
    for (let c = 0; c < env.nContexts; c++) {
      const z = logSumExp(q, c * 7, 7);
      for (let a = c * 7; a < c * 7 + 7; a++) q[a] -= z;
    }
    const jq = objective(env, q, r);
    assert.ok(jq < jStar, `perturbation ${trial} (scale ${scale}) raised J: ${jq} ≥ ${jStar}`);
    // Exact identity for Gibbs optima: J(π*) − J(π) = η·KL(π‖π*).
    close(jStar - jq, env.eta * kl(env, q, star), 1e-12, 'J* − J = η KL(π‖π*)');
  }
});

test('gapMetric is 0 at π* and positive elsewhere', () => {
  const env = generateEnv({ d: 6, K: 5, nContexts: 20, normB: 2, refTemperature: 1, eta: 0.2, seed: 21 });
  const star = optimalPolicy(env);
  const g = gapMetric(env, star);
  assert.equal(g.gap, 0);
  assert.equal(g.suboptimality, 0);
  assert.equal(g.klStarToHat, 0);
  for (const other of [
    env.refLogprobs,
    uniformPolicy(env),
    gibbsOfTheta(
      env,
      env.thetaStar!.map((v) => -v),
    ),
  ]) {
    const h = gapMetric(env, other);
    assert.ok(h.gap > 1e-3 && h.suboptimality > 0 && h.klStarToHat > 0, JSON.stringify(h));
    close(h.gap, h.jStar - h.jHat + env.eta * h.klStarToHat, 1e-12, 'gap decomposition');
  }
  // Slightly wrong θ → small but positive gap; the gap grows with the error.
  const theta = env.thetaStar!;
  const g1 = gapMetric(
    env,
    gibbsOfTheta(
      env,
      theta.map((v, i) => v + (i === 0 ? 0.01 : 0)),
    ),
  ).gap;
  const g2 = gapMetric(
    env,
    gibbsOfTheta(
      env,
      theta.map((v, i) => v + (i === 0 ? 0.1 : 0)),
    ),
  ).gap;
  assert.ok(g1 > 0 && g2 > 10 * g1, `${g1} ${g2}`);
});

test('KL(π*‖π̂) by hand, zero-probability entries, and infinite KL', () => {
  const env = twoAction(1);
  const P = Float64Array.from([Math.log(0.8), Math.log(0.2)]);
  const Q = Float64Array.from([Math.log(0.5), Math.log(0.5)]);
  close(kl(env, P, Q), 0.8 * Math.log(1.6) + 0.2 * Math.log(0.4), 1e-15, 'KL(P‖Q)');
  close(kl(env, Q, P), 0.5 * Math.log(0.5 / 0.8) + 0.5 * Math.log(0.5 / 0.2), 1e-15, 'KL(Q‖P)');
  const det = Float64Array.from([0, -Infinity]);
  close(kl(env, det, Q), Math.log(2), 1e-15, 'KL(δ‖uniform)');
  assert.equal(kl(env, Q, det), Infinity);
});

test('flat layout with K = 2 and K = 3: expected rewards, features, weighted KL', () => {
  const env = mixed;
  assert.deepEqual(Array.from(env.weights), [0.75, 0.25]);
  const r = rewardsOf(env, env.thetaStar!); // [1, -0.5 | 0.25, -1, 0.5]
  assert.deepEqual(Array.from(r), [1, -0.5, 0.25, -1, 0.5]);
  const er = expectedRewards(env, env.refLogprobs, r);
  close(er[0], 0.25, 1e-15);
  close(er[1], 0.2 * 0.25 + 0.3 * -1 + 0.5 * 0.5, 1e-15);
  close(expectedReward(env, env.refLogprobs, r), 0.75 * er[0] + 0.25 * er[1], 1e-15);
  const ef = expectedFeatures(env, env.refLogprobs);
  const efHand = [0.5, 0.5, 0.2 * 0.5 - 0.3, 0.2 * 0.5 - 0.5];
  for (let i = 0; i < 4; i++) close(ef[i], efHand[i], 1e-15, `φ(x,π0)[${i}]`);
  const u = uniformPolicy(env);
  close(Math.exp(u[0]), 0.5, 1e-15);
  close(Math.exp(u[4]), 1 / 3, 1e-15);
  const klc = klPerContext(env, u, env.refLogprobs);
  close(klc[0], 0, 1e-15);
  const k1 = (1 / 3) * (Math.log(1 / 3 / 0.2) + Math.log(1 / 3 / 0.3) + Math.log(1 / 3 / 0.5));
  close(klc[1], k1, 1e-15);
  close(klToRef(env, u), 0.25 * k1, 1e-15);
  // π* per context, by hand: ∝ π0·e^{r/η}
  const star = optimalPolicy(env);
  const w = [0.2 * Math.exp(0.5), 0.3 * Math.exp(-2), 0.5 * Math.exp(1)];
  const Z = w[0] + w[1] + w[2];
  for (let a = 0; a < 3; a++) close(Math.exp(star[2 + a]), w[a] / Z, 1e-15);
});

test('optimalPolicy and gapMetric need θ*', () => {
  const env = twoAction(1, null);
  assert.throws(() => optimalPolicy(env), /no theta_star/);
  assert.throws(() => gapMetric(env, env.refLogprobs), /no theta_star/);
});

test('Gibbs is exact for tiny η (no overflow): it concentrates on the best action', () => {
  const env = twoAction(1e-4);
  const p = gibbs(env, rewardsOf(env, env.thetaStar!));
  assert.equal(p[0], 0);
  close(p[1], -1e4, 1e-9);
  assert.ok(Number.isFinite(objective(env, p, rewardsOf(env, env.thetaStar!))));
});

test('evaluateGibbsExact equals gibbsOfTheta + objective + klToRef + gapMetric', () => {
  const rel = (a: number, b: number, what: string): void =>
    assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  for (const [d, K, C, eta] of [
    [3, 5, 7, 0.3],
    [8, 64, 20, 1],
    [33, 16, 10, 2],
  ] as const) {
    const env = generateEnv({ d, K, nContexts: C, normB: 2, refTemperature: 1, eta, seed: 5 + d });
    const rng = new Rng(d);
    for (const scale of [0, 0.5, 1]) {
      const th = env.thetaStar!.map((v) => scale * v + 0.3 * rng.normal());
      const logp = gibbsOfTheta(env, th);
      const r = rewardsOf(env, env.thetaStar!);
      const g = gapMetric(env, logp);
      const out = new Float64Array(logp.length);
      const e = evaluateGibbsExact(env, th, out);
      rel(e.jHat, objective(env, logp, r), 'J');
      rel(e.klRef, klToRef(env, logp), 'KL(π̂‖π0)');
      rel(e.jStar, g.jStar, 'J*');
      rel(e.suboptimality, g.suboptimality, 'suboptimality');
      rel(e.klStarToHat, g.klStarToHat, 'KL(π*‖π̂)');
      rel(e.gap, g.gap, 'gap');
      rel(e.rewardHat, expectedReward(env, logp, r), 'E r*');
      rel(e.klStarRef, klToRef(env, optimalPolicy(env)), 'KL(π*‖π0)');
      for (let a = 0; a < logp.length; a++) rel(out[a], logp[a], 'log π̂');
    }
    // At θ̂ = θ* the gap is 0 up to rounding, and the cache follows an in-place edit of θ*.
    const e0 = evaluateGibbsExact(env, env.thetaStar!);
    assert.ok(Math.abs(e0.gap) <= 1e-13 && e0.suboptimality <= 1e-13, JSON.stringify(e0));
    const th = env.thetaStar!.slice();
    env.thetaStar![0] += 0.5;
    rel(evaluateGibbsExact(env, th).gap, gapMetric(env, gibbsOfTheta(env, th)).gap, 'gap after θ* edit');
    assert.ok(evaluateGibbsExact(env, th).gap > 1e-6);
  }
  assert.throws(() => evaluateGibbsExact(twoAction(1, null), [1, 0]), /no theta_star/);
  assert.throws(() => evaluateGibbsExact(twoAction(1), [1]), /length/);
});
