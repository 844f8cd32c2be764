import { test } from 'node:test';
import assert from 'node:assert/strict';
import { behaviourPolicy, generateEnv, OPTIMAL_UNIFORM_MASS } from '../../src/bandit/generate.js';
import { optimalPolicy } from '../../src/bandit/policy.js';

test("'optimal' coverage: (1 − ρ)·π* + ρ·uniform per context, exactly", () => {
  const env = generateEnv({ d: 3, K: 5, nContexts: 4, normB: 2, refTemperature: 1, eta: 0.5, seed: 3 });
  const mu = behaviourPolicy(env, 'optimal');
  const star = optimalPolicy(env);
  for (let c = 0; c < env.nContexts; c++) {
    let total = 0;
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) {
      const want = (1 - OPTIMAL_UNIFORM_MASS) * Math.exp(star[a]) + OPTIMAL_UNIFORM_MASS / 5;
      assert.ok(Math.abs(Math.exp(mu[a]) - want) < 1e-12, `context ${c} action ${a}`);
      total += Math.exp(mu[a]);
    }
    assert.ok(Math.abs(total - 1) < 1e-12);
  }
  const noTheta = { ...env, thetaStar: null };
  assert.throws(() => behaviourPolicy(noTheta, 'optimal'), /needs theta_star/);
});
