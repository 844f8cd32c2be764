import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cholesky, scaledIdentity } from '../../src/math/linalg.js';
import { generateEnv } from '../../src/bandit/generate.js';
import { gibbs, kl, meanFeature, rewardsOf } from '../../src/bandit/policy.js';
import { gammaFromMean, tiltPolicy } from '../../src/bandit/algorithms/enhancers.js';
import { TiltEvaluator } from '../../src/bandit/algorithms/tilt-evaluator.js';
import { withBackend } from '../../src/native/index.js';
import { assertKernels, skipUnlessKernels } from '../native/expect.js';

const env = generateEnv({ d: 5, K: 7, nContexts: 30, normB: 2, refTemperature: 1, eta: 0.5, seed: 3 });
const main = gibbs(env, rewardsOf(env, Float64Array.from([0.5, -1, 0.25, 2, -0.75])));
const sigma = scaledIdentity(env.d, 2);
sigma[1] = sigma[env.d] = 0.3;
const L = cholesky(sigma, env.d);
const mean1 = meanFeature(env, main);
const beta = 1.5;
const eta = 0.5;
const v = Float64Array.from([0.6, -0.2, 0.1, 0.7, -0.3]);

/** Γ and η·KL through the library's own tilt, mean-feature and KL code (no fused pass). */
function direct(s: number): { gamma: number; etaKL: number } {
  const z = new Float64Array(env.offsets[env.nContexts]);
  for (let a = 0; a < z.length; a++)
    for (let j = 0; j < env.d; j++) z[a] += env.features[a * env.d + j] * v[j];
  const tilted = tiltPolicy(env, main, z, s, new Float64Array(z.length));
  return {
    gamma: gammaFromMean(L, env.d, beta, mean1, meanFeature(env, tilted)),
    etaKL: eta * kl(env, tilted, main),
  };
}

const close = (x: number, y: number, tol: number, what: string) =>
  assert.ok(Math.abs(x - y) <= tol * Math.max(Math.abs(y), 1e-300), `${what}: ${x} vs ${y}`);

for (const useNative of [false, true]) {
  const label = useNative ? 'native addon' : 'TypeScript';
  const skip = useNative && skipUnlessKernels('tiltAccumulate');
  test(`TiltEvaluator (${label}) equals Γ and η·KL of the materialised tilt`, { skip }, () => {
    if (useNative) assertKernels('tiltAccumulate');
    const ev = new TiltEvaluator(env, main, L, mean1, beta, eta);
    ev.setDirection(v);
    for (const s of [0, 0.01, 0.3, 1, 4, 25]) {
      const got = withBackend(useNative ? 'native' : 'ts', () => ev.evaluate(s));
      const want = direct(s);
      if (s === 0) {
        assert.ok(Math.abs(got.gamma) < 1e-14 && Math.abs(got.etaKL) < 1e-14);
        continue;
      }
      close(got.gamma, want.gamma, 1e-10, `Γ at s=${s}`);
      close(got.etaKL, want.etaKL, 1e-9, `η·KL at s=${s}`);
    }
  });
}

test(
  'TiltEvaluator: native and TypeScript passes agree to rounding; memo returns the same value',
  { skip: skipUnlessKernels('tiltAccumulate') },
  () => {
    assertKernels('tiltAccumulate');
    const js = new TiltEvaluator(env, main, L, mean1, beta, eta);
    const nat = new TiltEvaluator(env, main, L, mean1, beta, eta);
    js.setDirection(v);
    nat.setDirection(v);
    for (const s of [0.05, 0.7, 3]) {
      const a = withBackend('ts', () => js.evaluate(s));
      const b = withBackend('native', () => nat.evaluate(s));
      close(b.gamma, a.gamma, 1e-14, `Γ at s=${s}`);
      close(b.etaKL, a.etaKL, 1e-13, `η·KL at s=${s}`);
      assert.equal(js.evaluate(s), a);
    }
    // A new direction forgets the memo: the value at the same s is recomputed for the new z.
    const before = js.evaluate(0.7);
    js.setDirection(Float64Array.from([1, 0, 0, 0, 0]));
    assert.notEqual(js.evaluate(0.7).gamma, before.gamma);
  },
);
