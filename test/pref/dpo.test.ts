/** DPO trainer: gradient through the model vs finite differences, ln 2 at step 0, learning a tiny set. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { ByteTokenizer, GPT, setBackend, type EncodedSeq, type Tokenizer } from '../../src/nn/index.js';
import {
  PairBatcher,
  dpoBatchLossAndGrad,
  evaluateDpo,
  referenceLogProbs,
  trainDpo,
  type EncodedPair,
} from '../../src/pref/dpo.js';
import type { LossOptions, LossType, PairLogProbs } from '../../src/pref/losses.js';
import type { PreferencePair } from '../../src/pref/types.js';
import { TINY, fdCheck, randomModel } from '../nn/helpers.js';

setBackend('ts'); // FD checks on the TS kernels, like test/nn

const randomSeq = (rng: Rng, V: number, len: number, promptLen: number): EncodedSeq => ({
  ids: Array.from({ length: len }, () => rng.int(V - 1)), // V−1 is the pad id
  responseStart: promptLen,
});

const randomPairs = (rng: Rng, n: number): EncodedPair[] =>
  Array.from({ length: n }, () => ({
    chosen: randomSeq(rng, 13, 4 + rng.int(5), 2),
    rejected: randomSeq(rng, 13, 4 + rng.int(5), 2),
  }));

for (const [type, extra] of [
  ['sigmoid', { nllAlpha: 0.2 }],
  ['robust', { labelSmoothing: 0.1 }],
  ['ipo', {}],
  ['hinge', {}],
] as [LossType, Partial<LossOptions>][]) {
  test(`DPO (${type}) gradient through the model matches finite differences`, () => {
    const policy = randomModel(TINY, 21);
    const refModel = randomModel(TINY, 22);
    const rng = new Rng(23);
    const pairs = randomPairs(rng, 3);
    const pad = 12;
    const batcher = new PairBatcher(pairs, pad, TINY.blockSize);
    const idx = [0, 1, 2];
    const ref = referenceLogProbs(refModel, { pad } as unknown as Tokenizer, pairs);
    const offsets = [0.3, -0.2, 0.1];
    const o: LossOptions = { beta: type === 'hinge' ? 0.05 : 0.5, ...extra }; // hinge: stay on the linear side
    const lps: PairLogProbs[] = idx.map(() => ({
      policyChosen: 0,
      policyRejected: 0,
      refChosen: 0,
      refRejected: 0,
    }));
    const losses = new Float64Array(3);
    const dSeq = new Float64Array(6);
    policy.zeroGrad();
    dpoBatchLossAndGrad(policy, batcher.fill(idx), idx, ref, type, o, offsets, lps, losses, dSeq);
    const g = policy.grads.slice();
    const loss = (): number => {
      // forward-only evaluation of the same batch loss (mean over pairs)
      const m = dpoBatchLossAndGradForward(policy, batcher, idx, ref, type, o, offsets);
      return m;
    };
    const r = fdCheck(policy, g, loss, rng);
    assert.ok(r.checked > 50);
    assert.deepEqual(r.failures, []);
  });
}

/** The batch loss without touching the gradients (reference log-probs reused, policy forward only). */
function dpoBatchLossAndGradForward(
  policy: GPT,
  batcher: PairBatcher,
  idx: number[],
  ref: ReturnType<typeof referenceLogProbs>,
  type: LossType,
  o: LossOptions,
  offsets: number[],
): number {
  const saved = policy.grads.slice();
  const lps: PairLogProbs[] = idx.map(() => ({
    policyChosen: 0,
    policyRejected: 0,
    refChosen: 0,
    refRejected: 0,
  }));
  const m = dpoBatchLossAndGrad(
    policy,
    batcher.fill(idx),
    idx,
    ref,
    type,
    o,
    offsets,
    lps,
    new Float64Array(idx.length),
    new Float64Array(2 * idx.length),
  );
  policy.grads.set(saved);
  return m.loss;
}

const tok = new ByteTokenizer();
const SMALL = { vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
const DATA: PreferencePair[] = ['lamp', 'sofa', 'mug', 'desk', 'rug', 'fan', 'pen', 'hat'].map((p, i) => ({
  prompt: `Review of ${p}:`,
  chosen: i % 2 ? ' Great, love it.' : ' Works well.',
  rejected: i % 2 ? ' Awful. Broke.' : ' Bad, cheap junk.',
}));

test('policy = reference: loss is exactly ln 2 at step 0 with zero implicit rewards', () => {
  const policy = new GPT(SMALL, 1);
  const ref = referenceLogProbs(policy.clone(), tok, DATA);
  const first: number[] = [];
  trainDpo(policy, tok, DATA, ref, {
    batchSize: 4,
    maxSteps: 1,
    onStep: (m) => first.push(m.loss, m['rewards/margins'], m['rewards/chosen']),
  });
  assert.ok(Math.abs(first[0] - Math.LN2) < 1e-12, `loss ${first[0]}`);
  assert.equal(first[1], 0);
  assert.equal(first[2], 0);
  const ev = evaluateDpo(new GPT(SMALL, 1), tok, DATA, ref);
  assert.ok(Math.abs(ev.loss - Math.LN2) < 1e-12);
});

test('DPO on a tiny data set raises logp(chosen) − logp(rejected): margins grow, accuracies → 1', () => {
  const policy = new GPT(SMALL, 2);
  const ref = referenceLogProbs(policy.clone(), tok, DATA);
  const res = trainDpo(policy, tok, DATA, ref, { beta: 0.1, batchSize: 4, epochs: 40, lr: 3e-3, seed: 5 });
  assert.equal(res.steps, 80);
  const first = res.history[0];
  const last = res.history[res.history.length - 1];
  assert.ok(
    last['rewards/margins'] > first['rewards/margins'] + 1,
    `margins ${first['rewards/margins']} → ${last['rewards/margins']}`,
  );
  assert.ok(last.loss < 0.2, `loss ${last.loss}`);
  const ev = evaluateDpo(policy, tok, DATA, ref, { beta: 0.1 });
  const ev0 = evaluateDpo(new GPT(SMALL, 2), tok, DATA, ref, { beta: 0.1 });
  // the summed logp(chosen) − logp(rejected) itself went up (not only relative to the reference)
  assert.ok(ev['logps/chosen'] - ev['logps/rejected'] > ev0['logps/chosen'] - ev0['logps/rejected'] + 10);
  // warmup (default 10% = 8 steps) then cosine down to 0.1·lr
  assert.ok(Math.abs(res.history[0].lr - 3e-3 / 8) < 1e-15);
  assert.ok(Math.abs(res.history[7].lr - 3e-3) < 1e-15);
  assert.ok(res.history[79].lr < 4e-4 && res.history[79].lr >= 3e-4);
  assert.equal(ev['rewards/accuracies'], 1);
  assert.ok(ev['rewards/margins'] > 1);
  for (const k of [
    'rewards/chosen',
    'rewards/rejected',
    'rewards/margins',
    'rewards/accuracies',
    'logps/chosen',
    'logps/rejected',
    'loss',
    'lr',
    'grad_norm',
  ] as const) {
    assert.ok(Number.isFinite(last[k]), k);
  }
});

test('seeded: same seed → identical history; the per-pair offsets are aligned with the data', () => {
  const run = (seed: number, offsets?: number[]): number[] => {
    const policy = new GPT(SMALL, 3);
    const ref = referenceLogProbs(policy.clone(), tok, DATA);
    return trainDpo(policy, tok, DATA, ref, { batchSize: 3, epochs: 2, seed, offsets }).history.map(
      (h) => h.loss,
    );
  };
  assert.deepEqual(run(1), run(1));
  assert.notDeepEqual(run(1), run(2));
  // a constant offset c at Δ = 0 gives loss softplus(−c) at step 0
  const withOff = run(
    1,
    DATA.map(() => 1),
  );
  assert.ok(Math.abs(withOff[0] - Math.log1p(Math.exp(-1))) < 1e-12);
  assert.throws(
    () => trainDpo(new GPT(SMALL, 3), tok, DATA, referenceLogProbs(new GPT(SMALL, 3), tok, DATA.slice(1))),
    /reference log-probs cover/,
  );
});
