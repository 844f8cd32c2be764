import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envFromJson } from '../../src/bandit/files.js';
import { generateEnv } from '../../src/bandit/generate.js';
import { gapMetric, gibbs, trueRewards } from '../../src/bandit/policy.js';
import {
  DIVERGENCE_NAMES,
  fDivergence,
  fGapMetric,
  fObjective,
  fOptimal,
  fOptimumGeneric,
  getDivergence,
  solveExpPlusLinear,
  type Divergence,
} from '../../src/bandit/divergences/index.js';
import { Rng } from '../../src/math/rng.js';

const ALL: Divergence[] = [
  ...DIVERGENCE_NAMES.filter((n) => n !== 'alpha').map((n) => getDivergence(n)),
  getDivergence('alpha', { alpha: 0.3 }),
  getDivergence('alpha', { alpha: 0.7 }),
];

function close(a: number, b: number, tol: number, what = ''): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);
}

/** One context with K = 3 actions, π0 given, d = 1 (rewards are passed explicitly). */
function threeAction(ref: number[], eta: number) {
  return envFromJson({
    eta,
    theta_star: [1],
    contexts: [{ features: [[0], [0], [0]], ref_logprobs: ref.map(Math.log) }],
  });
}

test('divergence registry: f(1) = 0, f′ and u·f″ match finite differences, (f′)⁻¹ inverts f′, term = q·f(p/q)', () => {
  for (const dv of ALL) {
    close(dv.f(1), 0, 1e-15, `${dv.label} f(1)`);
    for (const s of [-2, -0.5, 0, 0.3, 1.5]) {
      const u = Math.exp(s);
      const h = 1e-5 * u;
      close(dv.fPrimeLog(s), (dv.f(u + h) - dv.f(u - h)) / (2 * h), 1e-6, `${dv.label} f′(${u})`);
      const hs = 1e-5;
      const slope = (dv.fPrimeLog(s + hs) - dv.fPrimeLog(s - hs)) / (2 * hs);
      close(dv.fPrimeLogSlope(s), slope, 1e-6 * Math.max(1, Math.abs(slope)), `${dv.label} u·f″`);
      close(dv.logInvFPrime(dv.fPrimeLog(s)), s, 1e-10, `${dv.label} (f′)⁻¹`);
      const lq = Math.log(0.3);
      close(dv.term(s + lq, lq), 0.3 * dv.f(u), 1e-12, `${dv.label} term`);
    }
    // The limits at 0 and ∞.
    if (Number.isFinite(dv.f0)) close(dv.f(1e-40), dv.f0, 1e-6, `${dv.label} f(0+)`);
    else assert.ok(dv.f(1e-14) > 30, `${dv.label} f(0+) = ∞`);
    if (Number.isFinite(dv.slopeInf)) close(dv.f(1e20) / 1e20, dv.slopeInf, 1e-4, `${dv.label} f′(∞)`);
    else assert.ok(dv.f(1e12) / 1e12 > 20, `${dv.label} f′(∞) = ∞`);
    if (Number.isFinite(dv.fPrime0)) close(dv.fPrimeLog(-40), dv.fPrime0, 1e-12, `${dv.label} f′(0+)`);
    else assert.ok(dv.fPrimeLog(-40) < -20, `${dv.label} f′(0+) = −∞`);
    assert.equal(dv.interior, !Number.isFinite(dv.fPrime0));
  }
  // The χPO inverse: e^s + s = y, at a hand-checked point (s = 0 ⇔ y = 1) and far in both tails.
  close(solveExpPlusLinear(1), 0, 1e-15, 'W(e)');
  close(solveExpPlusLinear(-50), -50 - Math.exp(-50), 1e-12, 'W tail');
  const s = solveExpPlusLinear(100);
  close(Math.exp(s) + s, 100, 1e-12, 'W large');
  assert.throws(() => getDivergence('kl'), /unknown divergence "kl".*reverse-kl/);
  assert.throws(() => getDivergence('alpha', { alpha: 1 }), /alpha must be in \(0, 1\)/);
});

test('reverse KL: the generic multiplier search reduces to the Gibbs policy, and its gap is gapMetric', () => {
  const env = generateEnv({ d: 4, K: 7, nContexts: 30, normB: 3, refTemperature: 1, eta: 0.4, seed: 3 });
  const r = trueRewards(env);
  const rkl = getDivergence('reverse-kl');
  const g = gibbs(env, r);
  const gen = fOptimumGeneric(env, r, rkl).logp;
  for (let a = 0; a < g.length; a++) close(gen[a], g[a], 1e-11, `action ${a}`);
  // Gibbs: λ(x) = η·(log Z(x) − 1) with u = exp((r − λ)/η − 1).
  const lam = fOptimumGeneric(env, r, rkl).lambda;
  for (let c = 0; c < env.nContexts; c++) {
    const s = env.offsets[c];
    const e = env.offsets[c + 1];
    let z = 0;
    for (let a = s; a < e; a++) z += Math.exp(env.refLogprobs[a] + r[a] / env.eta);
    close(lam[c], env.eta * (Math.log(z) - 1), 1e-10, `λ(${c})`);
  }
  const p = gibbs(
    env,
    r.map((x) => 0.7 * x),
  );
  const a = gapMetric(env, p);
  const b = fGapMetric(env, p, rkl);
  close(b.gap, a.gap, 1e-12, 'gap');
  close(b.divStarToHat, a.klStarToHat, 1e-12, 'KL(π*‖π̂)');
  close(b.jHat, a.jHat, 1e-12, 'J(π̂)');
});

/** max of J_f over the grid {(i, j, N − i − j)/N} of the 2-simplex. */
function gridMax(dv: Divergence, ref: number[], r: number[], eta: number, N: number) {
  let best = -Infinity;
  let arg = [0, 0, 0];
  for (let i = 0; i <= N; i++)
    for (let j = 0; i + j <= N; j++) {
      const p = [i / N, j / N, (N - i - j) / N];
      let v = 0;
      for (let a = 0; a < 3; a++) {
        v += p[a] * r[a];
        v -= eta * (p[a] === 0 ? ref[a] * dv.f0 : ref[a] * dv.f(p[a] / ref[a]));
      }
      if (v > best) {
        best = v;
        arg = p;
      }
    }
  return { best, arg };
}

test('every f-optimum beats brute-force maximisation over a fine simplex grid (K = 3)', () => {
  const cases = [
    { ref: [0.5, 0.3, 0.2], r: [1, 0, -1], eta: 0.5 },
    { ref: [0.1, 0.6, 0.3], r: [2, 0.5, 0], eta: 1 },
    { ref: [0.2, 0.2, 0.6], r: [-0.3, 1.2, 0.1], eta: 0.25 },
  ];
  const N = 600;
  for (const { ref, r, eta } of cases) {
    const env = threeAction(ref, eta);
    for (const dv of ALL) {
      const lp = fOptimal(env, r, dv);
      const p = Array.from(lp, Math.exp);
      close(
        p.reduce((x, y) => x + y, 0),
        1,
        1e-12,
        `${dv.label} Σπ`,
      );
      const j = fObjective(env, lp, r, dv);
      const g = gridMax(dv, ref, r, eta, N);
      // The optimum is at least as good as every grid point, and the grid's best point is close to it.
      assert.ok(j >= g.best - 1e-12, `${dv.label} ${JSON.stringify(ref)}: J(opt) ${j} < grid max ${g.best}`);
      for (let a = 0; a < 3; a++) close(p[a], g.arg[a], 0.02, `${dv.label} π(${a}) vs grid argmax`);
    }
  }
});

test('χ² clips low-reward actions to zero mass (KKT: r(a) − λ ≤ η·f′(0) there), the interior divergences never do', () => {
  const ref = [0.4, 0.4, 0.2];
  const r = [3, 0, -2];
  const env = threeAction(ref, 0.5);
  const chi = getDivergence('chi2');
  const { logp, lambda } = fOptimumGeneric(env, r, chi);
  assert.equal(logp[2], -Infinity);
  assert.ok((r[2] - lambda[0]) / 0.5 <= chi.fPrime0);
  // Hand check: with action 2 clipped, u_a = 1 + (r_a − λ)/η on {0, 1} and 0.4·u0 + 0.4·u1 = 1
  // ⇒ 0.8 + 0.8·(1.5 − λ)/0.5 = 1 ⇒ λ = 1.375, π = (0.4·(1 + 3.25), 0.4·(1 − 2.75)) — negative, so
  // action 1 is clipped too: 0.4·(1 + (3 − λ)/0.5) = 1 ⇒ λ = 2.25, π = (1, 0, 0).
  close(Math.exp(logp[0]), 1, 1e-12, 'π(0)');
  assert.equal(logp[1], -Infinity);
  close(lambda[0], 2.25, 1e-9, 'λ');
  for (const dv of ALL.filter((d) => d.interior)) {
    const lp = fOptimal(env, r, dv);
    for (const v of lp) assert.ok(v > -Infinity, `${dv.label} keeps every action`);
  }
});

test('f-optima on a generated environment: no feasible perturbation improves J_f (small η, many contexts)', () => {
  const env = generateEnv({ d: 5, K: 9, nContexts: 20, normB: 4, refTemperature: 1, eta: 0.08, seed: 11 });
  const r = trueRewards(env);
  const rng = new Rng(5);
  for (const dv of ALL) {
    const lp = fOptimal(env, r, dv);
    const j = fObjective(env, lp, r, dv);
    assert.ok(Number.isFinite(j), `${dv.label} J finite`);
    for (let t = 0; t < 30; t++) {
      // Mix the optimum with a random policy: feasible for every divergence (support ⊂ π0's).
      const w = 10 ** -(1 + 3 * rng.uniform());
      const q = new Float64Array(lp.length);
      for (let c = 0; c < env.nContexts; c++) {
        const s = env.offsets[c];
        const e = env.offsets[c + 1];
        const noise = Array.from({ length: e - s }, () => rng.uniform());
        const z = noise.reduce((x, y) => x + y, 0);
        for (let a = s; a < e; a++) q[a] = Math.log((1 - w) * Math.exp(lp[a]) + (w * noise[a - s]) / z);
      }
      const jq = fObjective(env, q, r, dv);
      assert.ok(jq <= j + 1e-12, `${dv.label}: perturbation ${w} improves J_f: ${jq} > ${j}`);
    }
    // The gap under f is zero at the optimum and positive elsewhere.
    close(fGapMetric(env, lp, dv).gap, 0, 1e-10, `${dv.label} gap(π_f*)`);
    assert.ok(fGapMetric(env, env.refLogprobs, dv).gap > 1e-3, `${dv.label} gap(π0) > 0`);
    close(fDivergence(env, env.refLogprobs, env.refLogprobs, dv), 0, 1e-15, `${dv.label} D_f(π0‖π0)`);
  }
});
