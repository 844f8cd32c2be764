/**
 * Finite-difference gradient checks of the whole model (every parameter tensor, so every layer:
 * embeddings, LayerNorms, qkv/attention/projection, MLP with GELU, final norm, LM/scalar heads)
 * for each loss entry point. Float32 with central differences, eps = 1e-2, random weights of
 * scale 0.3 so that no layer is in its trivial near-zero regime. Runs on the pure-TS kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { setBackend } from '../../src/native/index.js';
import { GPT } from '../../src/nn/model.js';
import { TINY, fdCheck, randomBatch, randomModel } from './helpers.js';

setBackend('ts');

test('LM loss (masked mean NLL) gradient matches finite differences for every tensor', () => {
  const model = randomModel(TINY, 1);
  const rng = new Rng(2);
  const batch = randomBatch(rng, 3, 8, 13, 2);
  model.zeroGrad();
  model.lmLoss(batch);
  model.backwardLmLoss();
  const g = model.grads.slice();
  const r = fdCheck(model, g, () => model.lmLoss(batch), rng);
  assert.ok(r.checked > 100);
  assert.deepEqual(r.failures, []);
});

test('sequence log-prob backward: d(Σ_b c_b·logp_b) matches finite differences (DPO entry point)', () => {
  const model = randomModel({ ...TINY, nHead: 4 }, 3);
  const rng = new Rng(4);
  const batch = randomBatch(rng, 4, 7, 13, 3);
  const c = [0.7, -1.3, 0.4, 2.1]; // arbitrary dL/dlogp per sequence
  const loss = (): number => {
    const r = model.tokenLogProbs(batch);
    return r.seqLogProbs.reduce((a, v, b) => a + c[b] * v, 0);
  };
  model.zeroGrad();
  loss();
  model.backwardSeqLogProbs(c);
  const r = fdCheck(model, model.grads.slice(), loss, rng);
  assert.deepEqual(r.failures, []);
});

test('per-token log-prob backward matches finite differences', () => {
  const model = randomModel(TINY, 5);
  const rng = new Rng(6);
  const batch = randomBatch(rng, 2, 8, 13, 1);
  const w = new Float32Array(16);
  for (let i = 0; i < 16; i++) if (batch.mask[i] > 0 && i % 8 !== 0) w[i] = rng.normal();
  const loss = (): number => {
    const r = model.tokenLogProbs(batch);
    let s = 0;
    for (let i = 0; i < 16; i++) s += w[i] * r.tokenLogProbs[i];
    return s;
  };
  model.zeroGrad();
  loss();
  model.backwardTokenLogProbs(w);
  const r = fdCheck(model, model.grads.slice(), loss, rng);
  assert.deepEqual(r.failures, []);
});

test('tied LM head: gradient flows into the shared embedding and matches finite differences', () => {
  const model = randomModel({ ...TINY, tiedHead: true }, 7);
  assert.equal(model.tensor('lm_head.weight'), undefined);
  const rng = new Rng(8);
  const batch = randomBatch(rng, 2, 8, 13, 1);
  model.zeroGrad();
  model.lmLoss(batch);
  model.backwardLmLoss();
  const g = model.grads.slice();
  const wte = model.tensor('transformer.wte.weight');
  assert.ok(wte);
  const r = fdCheck(model, g, () => model.lmLoss(batch), rng, Infinity); // every parameter
  assert.equal(r.checked, model.numParams);
  assert.deepEqual(r.failures, []);
});

test('scalar (reward) head: d(Σ c_b·r_b) matches finite differences, reads the last non-pad token', () => {
  const model = randomModel({ ...TINY, head: 'scalar' }, 9);
  assert.ok(model.tensor('score_head.weight'));
  assert.equal(model.tensor('lm_head.weight'), undefined);
  const rng = new Rng(10);
  const batch = randomBatch(rng, 3, 8, 13, 1); // lengths 8, 7, 6
  const c = [1.5, -0.5, 0.8];
  const loss = (): number => model.rewards(batch).reduce((a, v, b) => a + c[b] * v, 0);
  model.zeroGrad();
  loss();
  model.backwardRewards(c);
  const r = fdCheck(model, model.grads.slice(), loss, rng);
  assert.deepEqual(r.failures, []);
  // tokens after lengths[b] (padding) do not change r_b
  const before = model.rewards(batch);
  const t2 = batch.tokens.slice();
  t2[1 * 8 + 7] = (t2[1 * 8 + 7] + 1) % 13;
  t2[2 * 8 + 6] = (t2[2 * 8 + 6] + 1) % 13;
  const after = model.rewards({ ...batch, tokens: t2 });
  assert.deepEqual(Array.from(after), Array.from(before));
});

test('gradient accumulation: two half-batches with scale ½ equal one full batch of equal-count rows', () => {
  const model = randomModel(TINY, 11);
  const rng = new Rng(12);
  const full = randomBatch(rng, 4, 8, 13, 1);
  full.mask.fill(0);
  for (let b = 0; b < 4; b++) for (let t = 1; t < 8; t++) full.mask[b * 8 + t] = 1; // equal counts
  const half = (h: number) => ({
    B: 2,
    T: 8,
    tokens: full.tokens.slice(h * 16, h * 16 + 16),
    mask: full.mask.slice(h * 16, h * 16 + 16),
  });
  model.zeroGrad();
  model.lmLoss(full);
  model.backwardLmLoss();
  const gFull = model.grads.slice();
  model.zeroGrad();
  for (const h of [0, 1]) {
    model.lmLoss(half(h));
    model.backwardLmLoss(0.5);
  }
  const gAcc = model.grads;
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < gFull.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(gFull[i] - gAcc[i]));
    maxAbs = Math.max(maxAbs, Math.abs(gFull[i]));
  }
  assert.ok(maxDiff < 1e-5 * maxAbs + 1e-7, `max diff ${maxDiff} (max |g| ${maxAbs})`);
});

test("right padding does not change a sequence's log-probs; prompt tokens are not scored", () => {
  const model = new GPT(TINY, 13);
  const rng = new Rng(14);
  const short = {
    B: 1,
    T: 5,
    tokens: Int32Array.from([1, 2, 3, 4, 5]),
    mask: Float32Array.from([0, 0, 1, 1, 1]),
  };
  const a = model.tokenLogProbs(short);
  const padded = {
    B: 2,
    T: 8,
    tokens: Int32Array.from([1, 2, 3, 4, 5, 12, 12, 12, ...Array.from({ length: 8 }, () => rng.int(13))]),
    mask: Float32Array.from([0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]),
  };
  const b = model.tokenLogProbs(padded);
  assert.equal(a.counts[0], 3);
  assert.equal(b.counts[0], 3);
  assert.ok(Math.abs(a.seqLogProbs[0] - b.seqLogProbs[0]) < 1e-5);
  assert.equal(b.tokenLogProbs[0], 0);
  assert.equal(b.tokenLogProbs[1], 0);
});

test('backward without a matching forward fails clearly', () => {
  const model = new GPT(TINY, 1);
  assert.throws(() => model.backwardSeqLogProbs([1]), /needs a preceding tokenLogProbs/);
  const rm = new GPT({ ...TINY, head: 'scalar' }, 1);
  assert.throws(
    () => rm.tokenLogProbs({ B: 1, T: 2, tokens: Int32Array.from([1, 2]), mask: Float32Array.from([0, 1]) }),
    /head 'lm'/,
  );
  assert.throws(() => model.forwardLogits(Int32Array.from([1, 99]), 1, 2), /outside the vocabulary/);
  assert.throws(() => model.forwardLogits(new Int32Array(9), 1, 9), /blockSize/);
});

test('a DPO-style loss combining policy and frozen reference log-probs backpropagates correctly', () => {
  // L = −Σ_pairs log σ(β·((π_c − ref_c) − (π_r − ref_r))), chosen and rejected in one concatenated batch
  const policy = randomModel(TINY, 15);
  const ref = randomModel(TINY, 16);
  const rng = new Rng(17);
  const batch = randomBatch(rng, 4, 8, 13, 3); // rows 0,1 chosen; rows 2,3 rejected
  const beta = 0.5;
  const refLp = ref.tokenLogProbs(batch).seqLogProbs;
  const lossAndGrad = (): { loss: number; dSeq: number[] } => {
    const lp = policy.tokenLogProbs(batch).seqLogProbs;
    let loss = 0;
    const dSeq = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const z = beta * (lp[i] - refLp[i] - (lp[i + 2] - refLp[i + 2]));
      loss += Math.log1p(Math.exp(-z));
      const dz = -1 / (1 + Math.exp(z)); // d/dz of −log σ(z)
      dSeq[i] = beta * dz;
      dSeq[i + 2] = -beta * dz;
    }
    return { loss, dSeq };
  };
  policy.zeroGrad();
  const { dSeq } = lossAndGrad();
  policy.backwardSeqLogProbs(dSeq);
  const r = fdCheck(policy, policy.grads.slice(), () => lossAndGrad().loss, rng);
  assert.deepEqual(r.failures, []);
  assert.equal(ref.numParams, policy.numParams);
});

test('a Bradley–Terry reward-model loss on the scalar head backpropagates correctly', () => {
  const rm = randomModel({ ...TINY, head: 'scalar' }, 18);
  const rng = new Rng(19);
  const batch = randomBatch(rng, 4, 8, 13, 1); // rows 0,1 chosen; 2,3 rejected
  const lossAndGrad = (): { loss: number; dr: number[] } => {
    const r = rm.rewards(batch);
    let loss = 0;
    const dr = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const z = r[i] - r[i + 2];
      loss += Math.log1p(Math.exp(-z));
      const dz = -1 / (1 + Math.exp(z));
      dr[i] = dz;
      dr[i + 2] = -dz;
    }
    return { loss, dr };
  };
  rm.zeroGrad();
  rm.backwardRewards(lossAndGrad().dr);
  const r = fdCheck(rm, rm.grads.slice(), () => lossAndGrad().loss, rng);
  assert.deepEqual(r.failures, []);
});
