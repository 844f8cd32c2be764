/** Bradley–Terry reward models: gradient through the model, learning a trivial preference, ensembles, checkpoints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/math/rng.js';
import {
  ByteTokenizer,
  GPT,
  encodePair,
  setBackend,
  withBackend,
  type EncodedSeq,
} from '../../src/nn/index.js';
import { PairBatcher, type EncodedPair } from '../../src/pref/dpo.js';
import {
  RewardEnsemble,
  RewardModel,
  btLossAndGrad,
  evaluateRewardModel,
  rewardBatchLossAndGrad,
  rewardModelFromLM,
  rewardModelFromScratch,
  trainRewardEnsemble,
  trainRewardModel,
} from '../../src/pref/reward-model.js';
import type { PreferencePair } from '../../src/pref/types.js';
import { TINY, fdCheck, randomModel } from '../nn/helpers.js';

setBackend('ts');

test('BT loss gradient through the scalar-head model matches finite differences (with margins and centring)', () => {
  const rm = randomModel({ ...TINY, head: 'scalar' }, 31);
  const rng = new Rng(32);
  const seq = (): EncodedSeq => ({
    ids: Array.from({ length: 3 + rng.int(5) }, () => rng.int(12)),
    responseStart: 2,
  });
  const pairs: EncodedPair[] = Array.from({ length: 3 }, () => ({ chosen: seq(), rejected: seq() }));
  const batch = new PairBatcher(pairs, 12, TINY.blockSize).fill([0, 1, 2]);
  const margins = [0.5, -0.3, 0];
  const dr = new Float64Array(6);
  rm.zeroGrad();
  rewardBatchLossAndGrad(rm, batch, dr, margins, 0.05);
  const g = rm.grads.slice();
  const loss = (): number => btLossAndGrad(rm.rewards(batch), 3, new Float64Array(6), margins, 0.05).loss;
  const r = fdCheck(rm, g, loss, rng);
  assert.ok(r.checked > 50);
  assert.deepEqual(r.failures, []);
});

test('BT loss and TRL RewardTrainer metrics at a hand point', () => {
  // rows: chosen [2, 0], rejected [1, 1]
  const m = btLossAndGrad([2, 0, 1, 1], 2, new Float64Array(4));
  const sp = (z: number): number => Math.log1p(Math.exp(z));
  assert.ok(Math.abs(m.loss - (sp(-1) + sp(1)) / 2) < 1e-12);
  assert.equal(m.accuracy, 0.5);
  assert.equal(m.margin, 0);
  assert.equal(m.mean_reward, 1);
  assert.equal(m.min_reward, 0);
  assert.equal(m.max_reward, 2);
});

const tok = new ByteTokenizer();
const SMALL = { vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
const PRODUCTS = ['lamp', 'sofa', 'mug', 'desk', 'rug', 'fan', 'pen', 'hat', 'cup', 'bag', 'tv', 'bed'];
const GOOD = [' Great!', ' Love it.', ' Superb.'];
const BAD = [' Awful.', ' Broke.', ' Junk!'];
const synth = (seed: number, n: number): PreferencePair[] => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({
    prompt: `Review of ${PRODUCTS[rng.int(PRODUCTS.length)]}:`,
    chosen: GOOD[rng.int(3)],
    rejected: BAD[rng.int(3)],
  }));
};

test('a tiny synthetic task (one response type always preferred) reaches accuracy 1', () =>
  withBackend('auto', () => {
    const rm = rewardModelFromScratch(SMALL, 4);
    const train = synth(1, 48);
    const res = trainRewardModel(rm, tok, train, { epochs: 8, batchSize: 8, lr: 3e-3, seed: 2 });
    assert.equal(res.steps, 48);
    const last = res.history[res.history.length - 1];
    assert.ok(last.loss < res.history[0].loss);
    for (const k of ['accuracy', 'margin', 'mean_reward', 'min_reward', 'max_reward', 'loss'] as const)
      assert.ok(Number.isFinite(last[k]), k);
    const ev = evaluateRewardModel(rm, tok, synth(99, 24));
    assert.equal(ev.accuracy, 1);
    assert.ok(ev.margin > 1, `margin ${ev.margin}`);
  }));

test('rewardModelFromLM copies the trunk, drops the LM head and seeds a fresh score head', () => {
  const lm = new GPT(SMALL, 7);
  const a = rewardModelFromLM(lm, 1);
  const b = rewardModelFromLM(lm, 2);
  assert.equal(a.config.head, 'scalar');
  for (const t of a.tensors) {
    const src = lm.tensor(t.name);
    if (t.name.startsWith('score_head')) {
      assert.equal(src, undefined);
      continue;
    }
    assert.ok(src, t.name);
    assert.deepEqual(
      a.params.subarray(t.offset, t.offset + t.size),
      lm.params.subarray(src.offset, src.offset + src.size),
    );
  }
  const w = a.tensor('score_head.weight');
  assert.ok(w);
  assert.notDeepEqual(
    a.params.subarray(w.offset, w.offset + w.size),
    b.params.subarray(w.offset, w.offset + w.size),
  );
});

test('ensemble: K members differ (seeds + bootstrap), mean/std per response, save/load round trip', () =>
  withBackend('auto', () => {
    const lm = new GPT(SMALL, 8);
    const { ensemble, results } = trainRewardEnsemble(tok, synth(3, 16), {
      k: 3,
      init: lm,
      epochs: 2,
      batchSize: 8,
      lr: 2e-3,
      seed: 11,
    });
    assert.equal(results.length, 3);
    const prompts = ['Review of lamp:', 'Review of lamp:', 'Review of mug:'];
    const responses = [' Great!', ' Broke.', ' meh'];
    const s = ensemble.score(prompts, responses);
    assert.equal(s.members.length, 3);
    for (let i = 0; i < 3; i++) {
      const xs = s.members.map((m) => m[i]);
      const mu = xs.reduce((a, v) => a + v, 0) / 3;
      assert.ok(Math.abs(s.mean[i] - mu) < 1e-12);
      assert.ok(Math.abs(s.std[i] - Math.sqrt(xs.reduce((a, v) => a + (v - mu) ** 2, 0) / 3)) < 1e-12);
      assert.ok(s.std[i] > 0);
    }
    // encoded input (exact ids) gives the same scores as text
    const enc = ensemble.scoreEncoded(
      prompts.map((p, i) => encodePair(tok, p, responses[i], SMALL.blockSize)),
      tok.pad,
    );
    assert.deepEqual(Array.from(enc.std), Array.from(s.std));
    const dir = mkdtempSync(join(tmpdir(), 'gshf-rm-'));
    try {
      ensemble.save(dir);
      const back = RewardEnsemble.load(dir, 3);
      const s2 = back.score(prompts, responses);
      assert.deepEqual(Array.from(s2.mean), Array.from(s.mean));
      const one = RewardModel.load(join(dir, 'member-0'));
      assert.equal(one.scoreOne(prompts[0], responses[0]), s.members[0][0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));
