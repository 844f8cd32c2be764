import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { logSumExp, softplus } from '../../src/math/special.js';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import type { BanditEnv, PairData } from '../../src/bandit/env.js';
import { fitMLE } from '../../src/bandit/mle.js';
import { kl } from '../../src/bandit/policy.js';
import {
  dpo,
  mleGibbs,
  trainDpoTabular,
  trainDpoLinear,
  dpoTabularLoss,
  dpoLinearLoss,
} from '../../src/bandit/algorithms/offline.js';
import { dpoTabularGradient } from '../../src/bandit/algorithms/dpo.js';
import { withBackend } from '../../src/native/index.js';
import { assertKernels, skipUnlessKernels } from '../native/expect.js';
import type { AlgorithmContext } from '../../src/bandit/algorithms/types.js';

function setup(seed: number, eta = 0.5, n = 200): { env: BanditEnv; pairs: PairData; ctx: AlgorithmContext } {
  const env = generateEnv({ d: 3, K: 4, nContexts: 6, normB: 2, refTemperature: 1, eta, seed });
  const beh = behaviourPolicy(env, 'good');
  const rng = new Rng(`dpo-data-${seed}`);
  const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('labels'));
  const pairs = samplePairs(env, beh, beh, n, oracle, rng.fork('pairs'), { dropTies: true });
  return { env, pairs, ctx: { env, offline: pairs, oracle: null, rng: new Rng(seed) } };
}

/** Reference DPO loss written from the definition: normalise each context, then −log σ(η·Δ log-ratio). */
function referenceTabularLoss(env: BanditEnv, pairs: PairData, logits: Float64Array, eta: number): number {
  let s = 0;
  for (let i = 0; i < pairs.context.length; i++) {
    const c = pairs.context[i];
    const o = env.offsets[c];
    const z = logSumExp(logits, o, env.offsets[c + 1] - o);
    const lw = logits[o + pairs.chosen[i]] - z - env.refLogprobs[o + pairs.chosen[i]];
    const ll = logits[o + pairs.rejected[i]] - z - env.refLogprobs[o + pairs.rejected[i]];
    s += softplus(-eta * (lw - ll));
  }
  return s / pairs.context.length;
}

test('tabular DPO loss at initialisation (π = π0) is ln 2 per pair', () => {
  for (const eta of [0.1, 1, 3]) {
    const { env, pairs } = setup(1, eta);
    const L = dpoTabularLoss(env, pairs, env.refLogprobs, env.refLogprobs, eta);
    assert.ok(Math.abs(L - Math.LN2) < 1e-15, `η=${eta}: ${L}`);
    const t = trainDpoTabular(env, pairs, { eta, lr: 0.05, steps: 0 });
    assert.equal(t.initialLoss, L);
  }
});

test('tabular DPO gradient matches central finite differences of the definitional loss', () => {
  const { env, pairs } = setup(2, 0.7, 60);
  const rng = new Rng('fd');
  const logits = Float64Array.from(env.refLogprobs, (x) => x + rng.normal());
  const g = new Float64Array(logits.length);
  const L = dpoTabularLoss(env, pairs, logits, env.refLogprobs, 0.7, g);
  assert.ok(Math.abs(L - referenceTabularLoss(env, pairs, logits, 0.7)) < 1e-14);
  const h = 1e-5;
  for (let k = 0; k < logits.length; k++) {
    const p = Float64Array.from(logits);
    p[k] += h;
    const up = referenceTabularLoss(env, pairs, p, 0.7);
    p[k] -= 2 * h;
    const dn = referenceTabularLoss(env, pairs, p, 0.7);
    const fd = (up - dn) / (2 * h);
    assert.ok(Math.abs(fd - g[k]) < 1e-9 + 1e-6 * Math.abs(fd), `logit ${k}: fd ${fd} vs ${g[k]}`);
  }
});

test('tabular DPO gradient-only pass equals the gradient of dpoTabularLoss exactly', () => {
  const { env, pairs } = setup(5);
  const A = env.offsets[env.nContexts];
  const logits = Float64Array.from({ length: A }, (_, a) => env.refLogprobs[a] + Math.sin(3 * a));
  const viaLoss = new Float64Array(A).fill(0.125);
  const alone = new Float64Array(A).fill(0.125);
  dpoTabularLoss(env, pairs, logits, env.refLogprobs, 0.7, viaLoss);
  dpoTabularGradient(env, pairs, logits, env.refLogprobs, 0.7, alone);
  assert.ok(alone.some((g) => g !== 0.125));
  assert.deepEqual(alone, viaLoss); // bit for bit: the trained policy must not change
});

for (const [optimizer, schedule] of [
  ['adam', 'constant'],
  ['adam', 'linear'],
  ['gd', 'linear'],
] as const)
  test(
    `tabular DPO: the native training loop equals the TypeScript one (${optimizer}, ${schedule})`,
    { skip: skipUnlessKernels('dpoTabularTrain') },
    () => {
      assertKernels('dpoTabularTrain');
      const { env, pairs } = setup(9);
      const opts = { eta: 0.5, lr: 0.05, steps: 120, optimizer, schedule };
      const ts = withBackend('ts', () => trainDpoTabular(env, pairs, opts));
      const nat = withBackend('native', () => trainDpoTabular(env, pairs, opts));
      assert.ok(ts.finalLoss < ts.initialLoss);
      // Bit for bit (V8's exp in C): Adam amplifies last-ulp gradient differences to ~1e-7 in RSO's output.
      assert.deepEqual(nat.logits, ts.logits);
      assert.equal(nat.finalLoss, ts.finalLoss);
    },
  );

test('linear DPO gradient matches finite differences', () => {
  const { env, pairs } = setup(3, 0.4, 80);
  const w = Float64Array.from([0.3, -1.2, 0.8]);
  const g = new Float64Array(3);
  dpoLinearLoss(env, pairs, w, 0.4, 1, g);
  const h = 1e-6;
  for (let j = 0; j < 3; j++) {
    const p = Float64Array.from(w);
    p[j] += h;
    const up = dpoLinearLoss(env, pairs, p, 0.4, 1);
    p[j] -= 2 * h;
    const dn = dpoLinearLoss(env, pairs, p, 0.4, 1);
    assert.ok(Math.abs((up - dn) / (2 * h) - g[j]) < 1e-8);
  }
});

test('linear DPO reproduces MLE-Gibbs: θ̂ = η·w (Newton exactly, Adam approximately)', () => {
  for (const [seed, eta, lambda] of [
    [4, 0.5, 1],
    [5, 0.1, 0.3],
    [6, 2, 2],
  ] as const) {
    const { env, pairs, ctx } = setup(seed, eta);
    const theta = fitMLE(env, pairs, { lambda }).theta;
    const mle = mleGibbs.run(ctx, { lambda });
    const lin = dpo.run(ctx, { parameterization: 'linear', lambda });
    const thetaLin = lin.thetaHat as Float64Array;
    for (let j = 0; j < env.d; j++)
      assert.ok(Math.abs(thetaLin[j] - theta[j]) < 1e-8, `seed ${seed}: θ_${j}`);
    assert.ok(kl(env, mle.policy, lin.policy) < 1e-14);
    // Gradient-based linear DPO (as practised) converges to the same policy.
    const fo = trainDpoLinear(env, pairs, {
      eta,
      lambda,
      solver: 'first-order',
      lr: 0.05,
      steps: 4000,
      optimizer: 'adam',
      schedule: 'linear',
    });
    const klFo = kl(env, mle.policy, fo.policy);
    assert.ok(klFo < 1e-5, `seed ${seed}: KL(MLE-Gibbs ‖ Adam linear DPO) = ${klFo}`);
    assert.ok(fo.finalLoss < fo.initialLoss);
  }
});

test('tabular DPO converges to the empirical log-odds when the comparisons are not separable', () => {
  const { env } = setup(7, 0.5);
  // Context 0: actions 0 ≻ 1 three times, 1 ≻ 0 once. The minimiser has η·Δlog-ratio = log 3.
  const pairs: PairData = {
    context: Int32Array.from([0, 0, 0, 0]),
    chosen: Int32Array.from([0, 0, 0, 1]),
    rejected: Int32Array.from([1, 1, 1, 0]),
  };
  const t = trainDpoTabular(env, pairs, { eta: 0.5, lr: 0.05, steps: 3000, schedule: 'linear' });
  const o = env.offsets[0];
  const dl = t.policy[o] - env.refLogprobs[o] - (t.policy[o + 1] - env.refLogprobs[o + 1]);
  assert.ok(Math.abs(0.5 * dl - Math.log(3)) < 1e-4, `η·Δ = ${0.5 * dl}`);
  // Uncompared actions keep their logits: their log-ratio to π0 moves only through the normaliser.
  const shift2 = t.policy[o + 2] - env.refLogprobs[o + 2];
  const shift3 = t.policy[o + 3] - env.refLogprobs[o + 3];
  assert.ok(Math.abs(shift2 - shift3) < 1e-12);
  // Other contexts have no pairs and stay exactly at π0.
  for (let a = env.offsets[1]; a < env.offsets[env.nContexts]; a++)
    assert.ok(Math.abs(t.policy[a] - env.refLogprobs[a]) < 1e-12);
});

test('tabular DPO on separable pairs has no finite minimiser: the margin keeps growing with steps', () => {
  const { env } = setup(8, 0.5);
  const pairs: PairData = {
    context: Int32Array.from([2, 2]),
    chosen: Int32Array.from([1, 1]),
    rejected: Int32Array.from([3, 3]),
  };
  const o = env.offsets[2];
  let prevMargin = -Infinity;
  let prevLoss = Infinity;
  for (const steps of [50, 200, 800, 3200]) {
    const t = trainDpoTabular(env, pairs, { eta: 0.5, lr: 0.05, steps });
    const margin = t.logits[o + 1] - t.logits[o + 3];
    assert.ok(
      margin > prevMargin && t.finalLoss < prevLoss,
      `steps ${steps}: margin ${margin}, loss ${t.finalLoss}`,
    );
    prevMargin = margin;
    prevLoss = t.finalLoss;
  }
  // Two comparisons "1 ≻ 3" end with an implied preference σ(η·margin) > 0.99, and the margin is
  // still growing (slowly: Adam's second moment remembers the early, larger gradients).
  assert.ok(0.5 * prevMargin > 5, `margin ${prevMargin}`);
  // Plain gradient descent also keeps going (logarithmically).
  const g1 = trainDpoTabular(env, pairs, { eta: 0.5, lr: 5, steps: 1000, optimizer: 'gd' });
  const g2 = trainDpoTabular(env, pairs, { eta: 0.5, lr: 5, steps: 10000, optimizer: 'gd' });
  assert.ok(g2.logits[o + 1] - g2.logits[o + 3] > g1.logits[o + 1] - g1.logits[o + 3] + 1);
});

test('dpo (tabular) run: labels counted, loss decreases, policy normalised', () => {
  const { env, pairs, ctx } = setup(9);
  const r = dpo.run(ctx, {});
  assert.equal(r.labelsUsed, pairs.context.length);
  const d = r.diagnostics as Record<string, number>;
  assert.ok(Math.abs(d.initialLoss - Math.LN2) < 1e-15);
  assert.ok(d.finalLoss < d.initialLoss);
  for (let c = 0; c < env.nContexts; c++) {
    let s = 0;
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) s += Math.exp(r.policy[a]);
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
});
