import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeExamples, encodePair, makeBatch } from '../../src/nn/data.js';
import { setBackend } from '../../src/native/index.js';
import { GPT } from '../../src/nn/model.js';
import { AdamW, clipGradNorm, gradNorm, learningRate } from '../../src/nn/optim.js';
import { evaluateLoss, splitTrainVal, trainSft } from '../../src/nn/sft.js';
import { sampleText } from '../../src/nn/sample.js';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';
import { generateReviewCorpus } from '../../src/nn/corpus.js';

setBackend('ts');

test('overfitting a tiny batch drives the masked loss near zero', () => {
  const tok = new ByteTokenizer();
  const model = new GPT({ vocabSize: 259, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 }, 1);
  const seqs = [
    encodePair(tok, 'Review of mug:', ' Love it!', 32),
    encodePair(tok, 'Review of lamp:', ' Awful.', 32),
    encodePair(tok, 'Review of pan:', ' It is okay.', 32),
    encodePair(tok, 'Review of hat:', ' Good value.', 32),
  ];
  const batch = makeBatch(seqs, tok.pad);
  const opt = new AdamW(model, { lr: 1e-2, weightDecay: 0, beta2: 0.99 });
  let loss = model.lmLoss(batch);
  const initial = loss;
  for (let step = 0; step < 150; step++) {
    model.zeroGrad();
    loss = model.lmLoss(batch);
    model.backwardLmLoss();
    clipGradNorm(model, 1);
    opt.update();
  }
  loss = model.lmLoss(batch);
  assert.ok(initial > 5, `initial ${initial}`);
  assert.ok(loss < 0.05, `final loss ${loss}`);
  // and greedy decoding reproduces the memorised response
  const out = sampleText(model, tok, ['Review of lamp:'], { temperature: 0 });
  assert.equal(out[0][0].text, ' Awful.');
  assert.equal(out[0][0].finish, 'stop');
});

test('warmup + cosine schedule and global-norm clipping', () => {
  const o = { lr: 1, warmupSteps: 10, totalSteps: 110, minLrRatio: 0.1 };
  assert.equal(learningRate(0, o), 0.1);
  assert.equal(learningRate(9, o), 1);
  assert.equal(learningRate(10, o), 1);
  assert.ok(Math.abs(learningRate(60, o) - 0.55) < 1e-12);
  assert.ok(Math.abs(learningRate(110, o) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(500, o) - 0.1) < 1e-12);
  const model = new GPT({ vocabSize: 5, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 4 }, 1);
  model.grads.fill(1);
  const before = clipGradNorm(model, 2);
  assert.ok(Math.abs(before - Math.sqrt(model.numParams)) < 1e-6);
  assert.ok(Math.abs(gradNorm(model) - 2) < 1e-4);
  assert.equal(clipGradNorm(model, 10), gradNorm(model)); // below the limit: unchanged
});

test('AdamW applies weight decay to matrices only', () => {
  const model = new GPT({ vocabSize: 5, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 4 }, 1);
  model.params.fill(1);
  model.zeroGrad();
  new AdamW(model, { lr: 0.1, weightDecay: 0.5 }).update();
  const w = model.tensor('transformer.h.0.attn.c_attn.weight');
  const b = model.tensor('transformer.h.0.attn.c_attn.bias');
  assert.ok(w && b);
  assert.ok(Math.abs(model.params[w.offset] - 0.95) < 1e-6);
  assert.equal(model.params[b.offset], 1);
});

test('SFT loop on the review corpus lowers validation loss (tiny model, 60 steps)', () => {
  const tok = new ByteTokenizer();
  const model = new GPT({ vocabSize: 259, blockSize: 64, nLayer: 1, nHead: 2, nEmbd: 32 }, 2);
  const examples = generateReviewCorpus(400, 3).map((e) => ({
    kind: 'pair' as const,
    prompt: e.prompt,
    response: e.response,
  }));
  const seqs = encodeExamples(tok, examples, 64);
  const { train, val } = splitTrainVal(seqs, 0.1, 1);
  assert.equal(val.length, 40);
  let calls = 0;
  const res = trainSft(model, train, val, tok.pad, {
    steps: 60,
    batchSize: 8,
    lr: 3e-3,
    evalEvery: 30,
    seed: 1,
    onProgress: () => calls++,
  });
  assert.equal(calls, 60);
  assert.equal(res.history.filter((h) => h.val_loss !== undefined).length, 2);
  assert.ok(res.initialValLoss > 5);
  assert.ok(res.valLoss < 3.5, `val loss ${res.initialValLoss} → ${res.valLoss}`);
  assert.ok(Math.abs(evaluateLoss(model, val, tok.pad) - res.valLoss) < 1e-9);
});
