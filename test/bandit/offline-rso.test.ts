import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { sigmoid } from '../../src/math/special.js';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import type { BanditEnv, PairData } from '../../src/bandit/env.js';
import { fitMLE } from '../../src/bandit/mle.js';
import { gibbs, gibbsOfTheta, kl, klToRef, rewardsOf } from '../../src/bandit/policy.js';
import {
  rso,
  rsoMultistep,
  rejectionSample,
  pairsFromSamples,
  multistepEtas,
  defaultRsoMultistepOptions,
} from '../../src/bandit/algorithms/offline.js';
import type { AlgorithmContext } from '../../src/bandit/algorithms/types.js';

/** One context, three actions, φ(a) = r(a) ∈ R¹, π0 = (0.5, 0.3, 0.2). */
function threeActionEnv(eta: number): BanditEnv {
  return {
    name: 'three-action',
    eta,
    d: 1,
    nContexts: 1,
    offsets: Int32Array.from([0, 3]),
    features: Float64Array.from([0, 0.7, 1.5]),
    refLogprobs: Float64Array.from([0.5, 0.3, 0.2].map(Math.log)),
    weights: Float64Array.from([1]),
    thetaStar: Float64Array.from([1]),
  };
}

function setup(seed: number, eta = 0.5, n = 200): { env: BanditEnv; pairs: PairData; ctx: AlgorithmContext } {
  const env = generateEnv({ d: 3, K: 4, nContexts: 6, normB: 2, refTemperature: 1, eta, seed });
  const beh = behaviourPolicy(env, 'good');
  const rng = new Rng(`rso-data-${seed}`);
  const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('labels'));
  const pairs = samplePairs(env, beh, beh, n, oracle, rng.fork('pairs'), { dropTies: true });
  return { env, pairs, ctx: { env, offline: pairs, oracle: null, rng: new Rng(seed) } };
}

/** Pearson χ² of counts against probabilities. */
function chiSquare(counts: number[], probs: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((s, c, i) => s + (c - n * probs[i]) ** 2 / (n * probs[i]), 0);
}

test('rejection sampler: accepted samples follow the Gibbs target on a 3-action case (χ² test)', () => {
  for (const eta of [0.3, 1]) {
    const env = threeActionEnv(eta);
    const r = rewardsOf(env, [1]);
    const target = Array.from(gibbs(env, r), Math.exp);
    const res = rejectionSample(env, new Rng(`rs-${eta}`), {
      proposal: env.refLogprobs,
      logWeights: Float64Array.from(r, (x) => x / eta),
      nCandidates: 64,
      contexts: [0],
      rounds: 3000,
    });
    const counts = [0, 0, 0];
    for (let i = 0; i < res.accepted; i++) counts[res.action[i]]++;
    const chi2 = chiSquare(counts, target);
    // 2 degrees of freedom: P(χ² > 13.8) = 0.001. (With 64 candidates a batch misses the top action
    // with probability 0.8⁶⁴ ≈ 6e-7, so the batch-max bound is the true max.)
    assert.ok(chi2 < 13.8, `η=${eta}: χ² = ${chi2}, counts ${counts}, target ${target}`);
    assert.equal(res.candidates, 64 * 3000);
    // Expected acceptance per candidate = Σ π0·exp((r − r_max)/η).
    const expectedRate = [0.5, 0.3, 0.2].reduce((s, p, a) => s + p * Math.exp((r[a] - 1.5) / eta), 0);
    assert.ok(
      Math.abs(res.acceptanceRate - expectedRate) < 0.01,
      `rate ${res.acceptanceRate} vs ${expectedRate}`,
    );
  }
});

test('rejection sampler: the bound is the batch max, so one candidate per batch is always accepted (law = proposal)', () => {
  const env = threeActionEnv(0.3);
  const res = rejectionSample(env, new Rng('n1'), {
    proposal: env.refLogprobs,
    logWeights: Float64Array.from([0, 0.7 / 0.3, 1.5 / 0.3]),
    nCandidates: 1,
    contexts: [0],
    rounds: 20000,
  });
  assert.equal(res.acceptanceRate, 1);
  const counts = [0, 0, 0];
  for (let i = 0; i < res.accepted; i++) counts[res.action[i]]++;
  assert.ok(chiSquare(counts, [0.5, 0.3, 0.2]) < 13.8);
});

test('pairs from accepted samples: reward labels prefer the higher r̂; BT labels match σ(Δr̂)', () => {
  const env = threeActionEnv(1);
  const r = rewardsOf(env, [1]);
  const s = rejectionSample(env, new Rng('pairs'), {
    proposal: env.refLogprobs,
    logWeights: new Float64Array(3),
    nCandidates: 8,
    contexts: [0],
    rounds: 4000,
  });
  const det = pairsFromSamples(env, s, r, 'reward', new Rng('p1'));
  assert.ok(det.context.length > 1000);
  for (let i = 0; i < det.context.length; i++) assert.ok(r[det.chosen[i]] > r[det.rejected[i]]);
  const bt = pairsFromSamples(env, s, r, 'bt', new Rng('p2'));
  // Among pairs of {0, 2}, action 2 should win with probability σ(1.5).
  let n02 = 0;
  let w2 = 0;
  for (let i = 0; i < bt.context.length; i++) {
    const a = bt.chosen[i];
    const b = bt.rejected[i];
    assert.notEqual(a, b);
    if ((a === 0 && b === 2) || (a === 2 && b === 0)) {
      n02++;
      if (a === 2) w2++;
    }
  }
  const p = sigmoid(1.5);
  assert.ok(Math.abs(w2 / n02 - p) < 4 * Math.sqrt((p * (1 - p)) / n02), `${w2}/${n02} vs ${p}`);
});

test('rso: diagnostics, label accounting, reproducibility', () => {
  const { pairs, ctx } = setup(1);
  const a = rso.run(ctx, {});
  const b = rso.run({ ...ctx, rng: new Rng(1) }, {});
  assert.deepEqual(Array.from(a.policy), Array.from(b.policy));
  assert.equal(a.labelsUsed, pairs.context.length);
  const d = a.diagnostics as Record<string, number>;
  assert.ok(d.acceptanceRate > 0 && d.acceptanceRate <= 1);
  assert.ok(d.pairs > 0);
  assert.ok(d.klToRef > 0);
});

test('rso with BT labels and enough samples approaches its target Gibbs(π0, r̂/η)', () => {
  const { env, pairs, ctx } = setup(2, 1);
  const target = gibbsOfTheta(env, fitMLE(env, pairs, { lambda: 1 }).theta);
  const res = rso.run(ctx, { labels: 'bt', rounds: 128, dpoSteps: 1000, dpoSchedule: 'linear' });
  const k = kl(env, target, res.policy);
  const k0 = klToRef(env, target);
  assert.ok(k < 0.2 * k0, `KL(target ‖ rso) = ${k}, KL(target ‖ π0) = ${k0}`);
});

test('rso-multistep: default schedule 8η→η, per-stage diagnostics, one stage = rso', () => {
  assert.deepEqual(
    multistepEtas(0.5, defaultRsoMultistepOptions).map((x) => +x.toFixed(12)),
    [4, 2, 1, 0.5],
  );
  assert.throws(
    () => multistepEtas(0.5, { etas: [1, 2], stages: 4, etaMaxFactor: 8 }),
    /strictly decreasing/,
  );
  const { env, ctx } = setup(3);
  const res = rsoMultistep.run(ctx, {});
  const its = res.iterations ?? [];
  assert.equal(its.length, 4);
  its.forEach((it, i) => {
    const dg = it.diagnostics as Record<string, number>;
    assert.ok(Math.abs(dg.eta - 0.5 * 8 ** ((3 - i) / 3)) < 1e-12);
    assert.ok(dg.acceptanceRate > 0 && dg.acceptanceRate <= 1);
    assert.ok(Math.abs(dg.klToRef - klToRef(env, it.policy)) < 1e-15);
  });
  assert.deepEqual(Array.from(res.policy), Array.from(its[3].policy));
  // A single stage at η is plain RSO (same random stream, same weights r̂/η, same DPO).
  const one = rsoMultistep.run({ ...ctx, rng: new Rng(3) }, { stages: 1 });
  const plain = rso.run({ ...ctx, rng: new Rng(3) }, {});
  assert.deepEqual(Array.from(one.policy), Array.from(plain.policy));
});

test('rso-multistep with exact acceptance ratios and BT labels also approaches the final target', () => {
  const { env, pairs, ctx } = setup(4, 1);
  const target = gibbsOfTheta(env, fitMLE(env, pairs, { lambda: 1 }).theta);
  const res = rsoMultistep.run(ctx, {
    labels: 'bt',
    acceptance: 'exact',
    rounds: 128,
    dpoSteps: 1000,
    dpoSchedule: 'linear',
  });
  const k = kl(env, target, res.policy);
  assert.ok(k < 0.2 * klToRef(env, target), `KL(target ‖ multistep) = ${k}`);
});

test("rso with contexts: 'data' samples only contexts that appear in the offline pairs", () => {
  const { env, pairs, ctx } = setup(5);
  const only0: PairData = {
    context: pairs.context.filter((c) => c === 0),
    chosen: new Int32Array(0),
    rejected: new Int32Array(0),
  };
  only0.chosen = pairs.chosen.filter((_, i) => pairs.context[i] === 0);
  only0.rejected = pairs.rejected.filter((_, i) => pairs.context[i] === 0);
  const res = rso.run({ ...ctx, offline: only0 }, { contexts: 'data' });
  for (let a = env.offsets[1]; a < env.offsets[env.nContexts]; a++)
    assert.ok(Math.abs(res.policy[a] - env.refLogprobs[a]) < 1e-12);
  assert.ok(Math.abs(res.policy[0] - env.refLogprobs[0]) > 1e-6);
});
