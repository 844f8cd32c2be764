/**
 * The shared training loop (nn runSteps): it works on any TrainableModel (here a 2-parameter
 * quadratic, checked against AdamW's closed-form first step), and DPO and reward models get the
 * same checkpoint/resume as SFT through it (interrupted + resumed = uninterrupted, bit for bit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../../src/native/index.js';
import {
  ByteTokenizer,
  GPT,
  createOptimizer,
  epochBatches,
  runSteps,
  type LoopState,
  type TrainableModel,
} from '../../src/nn/index.js';
import { Rng } from '../../src/math/rng.js';
import { referenceLogProbs, trainDpo } from '../../src/pref/dpo.js';
import { rewardModelFromScratch, trainRewardModel } from '../../src/pref/reward-model.js';
import type { PreferencePair } from '../../src/pref/types.js';

setBackend('ts');

/** L(p) = ½Σ (p_i − target_i)²: gradient p − target. Not a GPT: only the TrainableModel surface. */
class Quadratic implements TrainableModel {
  readonly params = Float32Array.from([1, -2]);
  readonly grads = new Float32Array(2);
  readonly numParams = 2;
  readonly tensors = [{ offset: 0, size: 2, decay: false }];
  constructor(readonly target: Float32Array) {}
  zeroGrad(): void {
    this.grads.fill(0);
  }
  lossAndGrad(scale: number): { loss: number } {
    let loss = 0;
    for (let i = 0; i < 2; i++) {
      const d = this.params[i] - this.target[i];
      loss += 0.5 * d * d;
      this.grads[i] += scale * d;
    }
    return { loss };
  }
}

test('runSteps on a non-GPT model: step 1 is AdamW in closed form, metrics as documented', () => {
  const q = new Quadratic(Float32Array.from([3, 0]));
  const lr = 0.1;
  const optimizer = createOptimizer(q, { lr, warmupSteps: 0, gradClip: 0, minLrRatio: 1 }, 3);
  const seen: number[] = [];
  const res = runSteps({
    name: 'quadratic',
    model: q,
    optimizer,
    totalSteps: 3,
    accumulation: 2,
    batches: (step, micro) => seen.push(step * 10 + micro),
    lossAndGrad: (_b, scale) => q.lossAndGrad(scale),
    stopAfter: 1,
  });
  // Two micro-batches of scale 1/2 give the full gradient g = p − target = (−2, −2); AdamW at t = 1
  // moves each coordinate by lr·g/(|g| + eps) = −lr·sign(g) (m̂ = g, v̂ = g²): p = (1.1, −1.9).
  assert.deepEqual(seen, [0, 1]);
  const eps = 1e-8;
  assert.ok(Math.abs(q.params[0] - Math.fround(1 + (lr * 2) / (2 + eps))) < 1e-7, `${q.params[0]}`);
  assert.ok(Math.abs(q.params[1] - Math.fround(-2 + (lr * 2) / (2 + eps))) < 1e-7, `${q.params[1]}`);
  assert.equal(res.stepsRun, 1);
  assert.equal(res.finished, false);
  const [h] = res.history;
  assert.equal(h.step, 1);
  assert.equal(h.loss, 4); // ½(4 + 4), the mean over the micro-batches
  assert.equal(h.lr, lr);
  assert.ok(Math.abs(h.grad_norm - Math.SQRT2 * 2) < 1e-6);
  assert.ok(h.step_seconds >= 0 && h.elapsed_seconds >= h.step_seconds);
});

test('runSteps refuses a non-finite loss naming the trainer and the step', () => {
  const q = new Quadratic(Float32Array.from([NaN, 0]));
  const optimizer = createOptimizer(q, {}, 2);
  assert.throws(
    () =>
      runSteps({
        name: 'quadratic',
        model: q,
        optimizer,
        totalSteps: 2,
        batches: () => 0,
        lossAndGrad: (_b, s) => q.lossAndGrad(s),
      }),
    /quadratic: loss became NaN at step 1 \(lower lr\?\)/,
  );
});

test('epochBatches: every item once per epoch; random access replays the skipped shuffles', () => {
  const a = epochBatches(7, 3, new Rng(4));
  const b = epochBatches(7, 3, new Rng(4));
  assert.equal(a.perEpoch, 3);
  const seq = Array.from({ length: 9 }, (_, s) => a.at(s));
  for (let e = 0; e < 3; e++) {
    const items = seq.slice(3 * e, 3 * e + 3).flatMap((x) => x.idx);
    assert.deepEqual([...items].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.ok(seq.slice(3 * e, 3 * e + 3).every((x) => x.epoch === e + 1));
  }
  assert.deepEqual(b.at(7), seq[7]); // jumped straight to epoch 3
  assert.throws(() => b.at(2), /before the current epoch/);
});

const tok = new ByteTokenizer();
const SMALL = { vocabSize: 259, blockSize: 24, nLayer: 1, nHead: 2, nEmbd: 16 };
const DATA: PreferencePair[] = ['lamp', 'sofa', 'mug', 'desk', 'rug'].map((p, i) => ({
  prompt: `Review of ${p}:`,
  chosen: i % 2 ? ' Great.' : ' Works.',
  rejected: i % 2 ? ' Awful.' : ' Junk.',
}));

/** Runs `train` whole, and interrupted after `cut` steps then resumed from the saved state. */
function resumeEqualsUninterrupted(
  make: () => GPT,
  train: (m: GPT, extra: object) => { history: { loss: number }[] },
  cut: number,
): void {
  const whole = make();
  const full = train(whole, {}).history.map((h) => h.loss);
  const part = make();
  let saved: LoopState | undefined;
  const copy = (s: LoopState): LoopState => ({
    ...s,
    params: s.params.slice(),
    adamM: s.adamM.slice(),
    adamV: s.adamV.slice(),
  });
  train(part, { checkpointEvery: cut, onCheckpoint: (s: LoopState) => (saved = copy(s)), stopAfter: cut });
  assert.ok(saved);
  assert.equal(saved.step, cut);
  const resumed = make(); // a fresh process: new model, state from the checkpoint
  const rest = train(resumed, { resume: saved }).history.map((h) => h.loss);
  assert.deepEqual(rest, full.slice(cut));
  assert.deepEqual(resumed.params, whole.params);
}

test('DPO through the shared loop: resumed after a checkpoint equals the uninterrupted run bit for bit', () => {
  const ref = referenceLogProbs(new GPT(SMALL, 5), tok, DATA);
  resumeEqualsUninterrupted(
    () => new GPT(SMALL, 5),
    (m, extra) => trainDpo(m, tok, DATA, ref, { batchSize: 2, epochs: 3, lr: 3e-3, seed: 1, ...extra }),
    4, // mid-epoch 2 (3 batches per epoch): the resumed run replays the first two shuffles
  );
});

test('reward model through the shared loop: resumed after a checkpoint equals the uninterrupted run', () => {
  resumeEqualsUninterrupted(
    () => rewardModelFromScratch(SMALL, 6),
    (m, extra) => trainRewardModel(m, tok, DATA, { batchSize: 2, epochs: 2, seed: 2, ...extra }),
    3,
  );
});
