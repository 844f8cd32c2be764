import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../../src/native/index.js';
import { GPT } from '../../src/nn/model.js';
import { generate, sampleText, scoreLogProbs, topKFilter, topPFilter } from '../../src/nn/sample.js';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';
import { randomModel } from './helpers.js';

setBackend('ts'); // bit-identical cache vs no-cache arithmetic is a property of the TS kernels

const CFG = { vocabSize: 20, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 };

test('top-k keeps exactly the k largest logits (ties at the threshold kept)', () => {
  const x = Float32Array.from([1, 5, 3, 5, 2, -1]);
  topKFilter(x, 2);
  assert.deepEqual(Array.from(x), [-Infinity, 5, -Infinity, 5, -Infinity, -Infinity]);
  const y = Float32Array.from([1, 5, 3, 4, 2, -1]);
  topKFilter(y, 3);
  assert.deepEqual(Array.from(y), [-Infinity, 5, 3, 4, -Infinity, -Infinity]);
  const z = Float32Array.from([1, 2]);
  topKFilter(z, 0);
  assert.deepEqual(Array.from(z), [1, 2]);
});

test('top-p keeps the smallest head reaching mass p (crossing token kept)', () => {
  // probabilities 0.5, 0.25, 0.125, 0.125 (logits = log p)
  const mk = (): Float32Array =>
    Float32Array.from([Math.log(0.125), Math.log(0.5), Math.log(0.125), Math.log(0.25)]);
  let x = mk();
  topPFilter(x, 0.5); // 0.5 alone reaches 0.5
  assert.deepEqual(
    Array.from(x).map((v) => v > -Infinity),
    [false, true, false, false],
  );
  x = mk();
  topPFilter(x, 0.6); // needs 0.5 + 0.25
  assert.deepEqual(
    Array.from(x).map((v) => v > -Infinity),
    [false, true, false, true],
  );
  x = mk();
  topPFilter(x, 0.8); // 0.875 after the third (first 0.125 by index order)
  assert.deepEqual(
    Array.from(x).map((v) => v > -Infinity),
    [true, true, false, true],
  );
  x = mk();
  topPFilter(x, 0.01); // at least one survives
  assert.deepEqual(
    Array.from(x).map((v) => v > -Infinity),
    [false, true, false, false],
  );
  x = mk();
  topPFilter(x, 1);
  assert.ok(Array.from(x).every((v) => v > -Infinity));
});

test('KV-cache sampling equals no-cache sampling token for token (batched prompts, n samples, top-k/top-p)', () => {
  const model = randomModel(CFG, 21);
  const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9]];
  for (const opts of [
    { n: 3, temperature: 1, seed: 7 },
    { n: 2, temperature: 0.8, topK: 5, topP: 0.9, seed: 8 },
    { n: 2, temperature: 0, seed: 9 },
    { n: 2, temperature: 1.2, maxTokens: 4, stop: [0, 1], seed: 10 },
  ]) {
    const cached = generate(model, prompts, opts);
    const plain = generate(model, prompts, { ...opts, kvCache: false });
    assert.deepEqual(cached, plain);
    const total = cached.flat().reduce((a, s) => a + s.tokens.length, 0);
    assert.ok(total > 5, 'generated something');
  }
  // fills the context exactly: prompt 5 + 12 new tokens = 17 = blockSize + 1 (last one never fed)
  const full = generate(model, [[5, 6, 7, 8, 9]], { n: 1, seed: 3, stop: [] });
  assert.equal(full[0][0].tokens.length, CFG.blockSize - 5 + 1);
});

test('sampling is deterministic under a seed and independent of batching', () => {
  const model = randomModel(CFG, 22);
  const prompts = [[1], [2, 3], [4, 5, 6], [7]];
  const a = generate(model, prompts, { n: 2, seed: 5 });
  const b = generate(model, prompts, { n: 2, seed: 5, maxBatch: 2 });
  assert.deepEqual(a, b);
  // the random stream of sample j of prompt i is keyed by (i, j): the same prompt at another index differs
  const c = generate(model, [prompts[2], prompts[2]], { n: 2, seed: 5 });
  assert.notDeepEqual(
    c[0].map((s) => s.tokens),
    c[1].map((s) => s.tokens),
  );
  const d = generate(model, prompts, { n: 2, seed: 6 });
  assert.notDeepEqual(a, d);
});

test('stop tokens end a sample and are not included; finish reasons', () => {
  const model = randomModel(CFG, 23);
  const greedy = generate(model, [[1, 2]], { temperature: 0, maxTokens: 10, stop: [] })[0][0];
  assert.equal(greedy.finish, 'length');
  assert.equal(greedy.tokens.length, 10);
  const stopTok = greedy.tokens[3];
  const firstIdx = greedy.tokens.indexOf(stopTok);
  const stopped = generate(model, [[1, 2]], { temperature: 0, maxTokens: 10, stop: [stopTok] })[0][0];
  assert.equal(stopped.finish, 'stop');
  assert.deepEqual(stopped.tokens, greedy.tokens.slice(0, firstIdx));
});

test('sampleText and scoreLogProbs with the byte tokenizer', () => {
  const tok = new ByteTokenizer();
  const model = new GPT({ vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 }, 1);
  const res = sampleText(model, tok, ['Review of mug:', 'Hi'], { n: 2, maxTokens: 5, seed: 1 });
  assert.equal(res.length, 2);
  assert.equal(res[0].length, 2);
  assert.equal(res[1][1].prompt, 'Hi');
  const pairs = [
    { prompt: 'Review of mug:', response: ' Good.' },
    { prompt: 'A', response: ' much longer response here' },
  ];
  const scores = scoreLogProbs(model, tok, pairs, { batchSize: 2 });
  const single = scoreLogProbs(model, tok, [pairs[0]], { batchSize: 1 });
  assert.equal(scores[0].tokens, 7); // " Good." (6 bytes) + EOS
  assert.ok(Math.abs(scores[0].logProb - single[0].logProb) < 1e-4);
  // untrained model ≈ uniform: logp ≈ tokens·log(1/259)
  assert.ok(Math.abs(scores[0].logProb / 7 + Math.log(259)) < 0.2);
});

test('scoring refuses a pair longer than the context unless a truncation side is given', () => {
  const tok = new ByteTokenizer();
  const model = new GPT({ vocabSize: 259, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 }, 1);
  // [BOS] + 10 prompt + 5 response + EOS = 17 tokens > 16
  const long = [
    { prompt: 'abcdefghij', response: 'xyzw1', where: 'd.jsonl:4' },
    { prompt: 'abcdefghij', response: 'xyzw2' },
  ];
  assert.throws(
    () => scoreLogProbs(model, tok, long),
    /d\.jsonl:4: \[BOS\] \+ 10 prompt \+ 5 response \+ EOS = 17 tokens exceed the model's context of 16/,
  );
  assert.throws(() => scoreLogProbs(model, tok, long.slice(1)), /^GshfInputError: pair 1: /);
  // left: the oldest prompt token goes; identical to scoring the shorter prompt
  const left = scoreLogProbs(model, tok, long, { truncate: 'left' });
  const ref = scoreLogProbs(model, tok, [{ prompt: 'bcdefghij', response: 'xyzw1' }]);
  assert.equal(left[0].truncated, 1);
  assert.equal(left[0].tokens, 6);
  assert.ok(Math.abs(left[0].logProb - ref[0].logProb) < 1e-5);
  // right: the EOS goes; identical to scoring without EOS
  const right = scoreLogProbs(model, tok, long, { truncate: 'right' });
  const noEos = scoreLogProbs(model, tok, [long[0]], { includeEos: false });
  assert.equal(right[0].truncated, 1);
  assert.equal(noEos[0].truncated, 0);
  assert.equal(right[0].tokens, 5);
  assert.ok(Math.abs(right[0].logProb - noEos[0].logProb) < 1e-5);
  // a prompt that fills the context leaves nothing to score on the right
  assert.throws(
    () => scoreLogProbs(model, tok, [{ prompt: 'p'.repeat(15), response: 'r' }], { truncate: 'right' }),
    /the prompt alone fills the context of 16/,
  );
  // left cuts into the response when the response alone is too long: the newest 15 tokens are scored
  const r = scoreLogProbs(model, tok, [{ prompt: 'p', response: 'r'.repeat(20) }], { truncate: 'left' });
  assert.deepEqual([r[0].tokens, r[0].truncated], [15, 7]);
});

test('a non-finite log-prob is an error, not a null score', () => {
  const tok = new ByteTokenizer();
  const model = new GPT({ vocabSize: 259, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 }, 1);
  model.params[model.tensor('lm_head.weight')!.offset + 5] = NaN;
  assert.throws(
    () => scoreLogProbs(model, tok, [{ prompt: 'a', response: 'b', where: 'x.jsonl:2' }]),
    /x\.jsonl:2: log-prob is NaN: the model produced non-finite values/,
  );
});

test('sampling options are validated at the public API with the option and the value', () => {
  const tok = new ByteTokenizer();
  const model = new GPT({ vocabSize: 259, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 }, 1);
  const bad: [Parameters<typeof sampleText>[3], RegExp][] = [
    [{ topP: 1.5 }, /topP: expected a number in \(0, 1\] \(1 = off\), got 1\.5/],
    [{ topP: 0 }, /topP: .* got 0/],
    [{ temperature: -0.5 }, /temperature: expected a finite number ≥ 0 .* got -0\.5/],
    [{ temperature: NaN }, /temperature: .* got NaN/],
    [{ n: 0 }, /n: expected an integer ≥ 1, got 0/],
    [{ n: 1.5 }, /n: expected an integer ≥ 1, got 1\.5/],
    [{ topK: -1 }, /topK: expected an integer ≥ 0/],
    [{ maxTokens: 0 }, /maxTokens: expected an integer ≥ 1, got 0/],
    [{ stop: [300] }, /stop: expected token ids in \[0, 259\), got 300/],
  ];
  for (const [opts, re] of bad) assert.throws(() => sampleText(model, tok, ['a'], opts), re);
  assert.throws(() => sampleText(model, tok, []), /no prompts/);
  assert.throws(
    () => sampleText(model, tok, ['0123456789abcdef']),
    /prompt 0 \("0123456789abcdef"\) is 17 tokens with BOS; the model's context of 16 leaves no room/,
  );
  assert.throws(() => generate(model, [[256, 999]]), /prompt 0: token 1 is 999, outside the vocabulary/);
  // the empty string is a valid prompt: [BOS] only (unconditional sampling)
  assert.equal(sampleText(model, tok, [''], { maxTokens: 3, seed: 1 })[0][0].tokens.length <= 3, true);
});

test('sampling from a model with NaN weights fails naming the cause, not the Rng', () => {
  const tok = new ByteTokenizer();
  const model = new GPT({ vocabSize: 259, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 }, 1);
  model.params[model.tensor('lm_head.weight')!.offset + 3] = NaN;
  for (const temperature of [0, 1])
    assert.throws(
      () => sampleText(model, tok, ['a'], { temperature, maxTokens: 2 }),
      /^GshfNumericError: sampling: the model produced a NaN logit/,
    );
});
