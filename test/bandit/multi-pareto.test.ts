import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedReward, gibbs, klToRef, rewardsOf } from '../../src/bandit/policy.js';
import { generateEnv } from '../../src/bandit/generate.js';
import { Uncertainty, pairCovariance } from '../../src/bandit/uncertainty.js';
import { behaviourPolicy } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { Rng } from '../../src/math/rng.js';
import { cholesky } from '../../src/math/linalg.js';
import {
  centredOnReference,
  constrainedGibbs,
  dominates,
  evaluateObjectives,
  lexicographicGibbs,
  logPartition,
  nonDominated,
  paretoFront2,
  pessimisticRewards,
} from '../../src/bandit/multi/pareto.js';
import { close, oneContextEnv, simplexGrid3 } from './multi-helpers.js';

// Three actions, two conflicting rewards (r0 = feature 0, r1 = feature 1), non-uniform π0.
const env = oneContextEnv(
  [
    [1, -0.5],
    [-0.3, 1],
    [0.2, 0.1],
  ],
  [0.2, 0.3, 0.5],
  0.5,
);
const r0 = rewardsOf(env, [1, 0]);
const r1 = rewardsOf(env, [0, 1]);
const grid = simplexGrid3(200).map((p) => evaluateObjectives(env, p, [r0, r1]));

test('Pareto front: scalarised Gibbs points are undominated by any policy of a 200-step simplex grid', () => {
  const front = paretoFront2(env, r0, r1, 20);
  for (const f of front) {
    for (const g of grid) {
      assert.ok(
        !dominates(g.value, f.value, 1e-12),
        `grid point ${g.value} dominates front point ${f.value}`,
      );
      // Exact optimality of the weighted sum at f's weights.
      const wf = f.w[0] * f.value[0] + f.w[1] * f.value[1];
      assert.ok(f.w[0] * g.value[0] + f.w[1] * g.value[1] <= wf + 1e-12);
    }
  }
  // J_0 falls and J_1 rises along the front.
  for (let i = 1; i < front.length; i++) {
    assert.ok(front[i].value[0] <= front[i - 1].value[0] + 1e-12);
    assert.ok(front[i].value[1] >= front[i - 1].value[1] - 1e-12);
  }
});

test('Pareto front: every grid policy is weakly dominated (to grid resolution) by a point of the traced front', () => {
  const front = paretoFront2(env, r0, r1, 400);
  const undominatedGrid = nonDominated(grid.map((g) => g.value));
  assert.ok(undominatedGrid.length > 10);
  for (const g of grid) {
    const covered = front.some((f) => f.value[0] >= g.value[0] - 2e-3 && f.value[1] >= g.value[1] - 2e-3);
    assert.ok(covered, `grid value ${g.value} is not covered by the front`);
  }
});

test('constrained optimum: matches the brute-force best feasible policy, KKT holds, λ minimises the dual', () => {
  const free = gibbs(env, r0);
  const c = expectedReward(env, free, r1) + 0.3; // binding
  const sol = constrainedGibbs(env, r0, r1, c);
  assert.ok(sol.feasible && sol.lambda > 0);
  close(sol.constraint, c, 1e-9, 'active constraint');
  close(sol.value, sol.dual, 1e-9, 'strong duality');
  let best = -Infinity;
  for (const g of grid) if (g.reward[1] >= c) best = Math.max(best, g.value[0]);
  assert.ok(best <= sol.value + 1e-12, `grid beats the optimum: ${best} > ${sol.value}`);
  close(best, sol.value, 5e-3, 'grid optimum');
  // λ against a brute-force scan of the convex dual g(λ) = η·log Z_λ − λc.
  let argmin = 0;
  let gmin = Infinity;
  for (let l = 0; l <= 20; l += 1e-3) {
    const v =
      logPartition(
        env,
        Float64Array.from(r0, (x, a) => x + l * r1[a]),
      ) -
      l * c;
    if (v < gmin) [gmin, argmin] = [v, l];
  }
  close(sol.lambda, argmin, 1.5e-3, 'λ');
  close(sol.dual, gmin, 1e-6, 'dual minimum');
});

test('constrained optimum: λ = 0 when the unconstrained Gibbs policy is feasible; infeasible above max r_2', () => {
  const free = gibbs(env, r0);
  const loose = constrainedGibbs(env, r0, r1, expectedReward(env, free, r1) - 0.1);
  assert.equal(loose.lambda, 0);
  assert.ok(Math.max(...free.map((x, a) => Math.abs(x - loose.policy[a]))) === 0);
  const impossible = constrainedGibbs(env, r0, r1, 1.01); // max_a r1 = 1
  assert.equal(impossible.feasible, false);
  assert.ok(impossible.constraint < 1.01 && impossible.constraint > 0.99);
});

test('lexicographic: τ = 0 gives the primary optimum; τ > 0 matches the brute-force best secondary within the tolerance', () => {
  const exact = lexicographicGibbs(env, r1, r0, 0);
  const pStar = gibbs(env, r1);
  assert.ok(Math.max(...pStar.map((x, a) => Math.abs(x - exact.policy[a]))) < 1e-12);
  close(exact.primaryOptimum, expectedReward(env, pStar, r1) - env.eta * klToRef(env, pStar), 1e-12, 'J_p*');
  const tau = 0.1;
  const sol = lexicographicGibbs(env, r1, r0, tau);
  close(sol.primaryValue, sol.primaryOptimum - tau, 1e-9, 'primary within τ, active');
  let best = -Infinity;
  for (const g of grid) if (g.value[1] >= sol.primaryOptimum - tau) best = Math.max(best, g.value[0]);
  assert.ok(best <= sol.secondaryValue + 1e-12);
  close(best, sol.secondaryValue, 5e-3, 'grid secondary optimum');
  // A tolerance wider than the whole trade-off returns the secondary's own optimum (μ = 0).
  assert.equal(lexicographicGibbs(env, r1, r0, 100).mu, 0);
});

test('pessimistic reward: E_π r̃ ≤ E_π r for every π whenever ‖θ̂ − θ‖_Σ ≤ β (centred rewards)', () => {
  const g = generateEnv({ d: 4, K: 6, nContexts: 5, normB: 2, refTemperature: 1, eta: 0.5, seed: 3 });
  const mu = behaviourPolicy(g, 'good');
  const pairs = samplePairs(g, mu, mu, 60, new PreferenceOracle(g, g.thetaStar!, new Rng(1)), new Rng(2));
  const sigma = pairCovariance(g, pairs, 1);
  const unc = new Uncertainty(sigma, 4);
  const beta = 0.7;
  const L = cholesky(sigma, 4);
  const rng = new Rng(5);
  for (let trial = 0; trial < 20; trial++) {
    // θ̂ = θ + δ with ‖δ‖_Σ = β: δ = β·L^{-T}u for a unit u (solve Lᵀδ = βu by back substitution).
    const u = Array.from({ length: 4 }, () => rng.normal());
    const nu = Math.hypot(...u);
    const delta = new Float64Array(4);
    for (let i = 3; i >= 0; i--) {
      let s = (beta * u[i]) / nu;
      for (let k = i + 1; k < 4; k++) s -= L[k * 4 + i] * delta[k];
      delta[i] = s / L[i * 4 + i];
    }
    const thetaHat = Float64Array.from(g.thetaStar!, (t, j) => t + delta[j]);
    const rTrue = centredOnReference(g, rewardsOf(g, g.thetaStar!));
    const rTilde = pessimisticRewards(g, centredOnReference(g, rewardsOf(g, thetaHat)), unc, beta);
    const pi = gibbs(
      g,
      Float64Array.from(rTrue, () => 3 * rng.normal()),
    );
    assert.ok(expectedReward(g, pi, rTilde) <= expectedReward(g, pi, rTrue) + 1e-12);
  }
});
