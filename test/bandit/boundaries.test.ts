// Public bandit functions validate their inputs at the entry and throw GshfInputError with a
// message naming the function, the argument and the expected size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEnv } from '../../src/bandit/generate.js';
import { fitMLE } from '../../src/bandit/mle.js';
import { gapMetric, gibbsOfTheta, klToRef, objective, trueRewards } from '../../src/bandit/policy.js';
import { GshfInputError } from '../../src/math/errors.js';

const env = generateEnv({ d: 2, K: 3, nContexts: 4, normB: 1, refTemperature: 1, eta: 0.5, seed: 1 });
const is = (msg: RegExp) => (e: unknown) => e instanceof GshfInputError && msg.test(e.message);

test('policy functions refuse wrong lengths, bad η and non-finite θ with named arguments', () => {
  const short = new Float64Array(11);
  assert.throws(
    () => klToRef(env, short),
    is(/^kl: the first policy .* has 11 entries, the environment has 12 actions \(4 contexts/),
  );
  assert.throws(() => gapMetric(env, short), is(/^gapMetric: the policy .* 11 entries/));
  const pi0 = env.refLogprobs;
  assert.throws(
    () => objective(env, pi0, trueRewards(env), 0),
    is(/^objective: eta must be a finite number > 0, got 0/),
  );
  assert.throws(
    () => objective(env, pi0, new Float64Array(3)),
    is(/^expectedRewards: rewards has 3 entries/),
  );
  assert.throws(() => gibbsOfTheta(env, [NaN, 1]), is(/^rewardsOf: theta\[0\] is NaN/));
  assert.throws(
    () => gibbsOfTheta(env, [1]),
    is(/^rewardsOf: theta has length 1, the environment has d = 2/),
  );
  // Valid inputs still give the closed forms: KL(π0‖π0) = 0 and gap(π*) = 0.
  assert.equal(klToRef(env, pi0), 0);
  assert.ok(Math.abs(gapMetric(env, gibbsOfTheta(env, env.thetaStar as Float64Array)).gap) < 1e-12);
});

test('fitMLE refuses out-of-range actions and contexts, and mismatched pair arrays', () => {
  const pairs = (c: number[], w: number[], l: number[]) => ({
    context: Int32Array.from(c),
    chosen: Int32Array.from(w),
    rejected: Int32Array.from(l),
  });
  assert.throws(
    () => fitMLE(env, pairs([0], [3], [1]), { lambda: 1 }),
    is(/^fitMLE: pair 0: chosen action 3 is out of range \(context 0 has 3 actions\)/),
  );
  assert.throws(
    () => fitMLE(env, pairs([4], [0], [1]), { lambda: 1 }),
    is(/^fitMLE: pair 0: context 4 is out of range \(0\.\.3\)/),
  );
  assert.throws(() => fitMLE(env, pairs([0, 1], [0], [1, 2]), { lambda: 1 }), is(/must be equal/));
  assert.equal(fitMLE(env, pairs([0], [0], [1]), { lambda: 1 }).converged, true);
});
